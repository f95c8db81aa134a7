"""A second `make run` on one warehouse, or a run while another process has the warehouse file open, stops at
once with one sentence naming the holder (orchestration/exclusive.py)."""

import os
import subprocess
import sys

import duckdb
import pytest

from orchestration.exclusive import WarehouseBusy, exclusive_warehouse


def test_a_second_run_on_the_same_warehouse_is_refused_naming_the_first(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    with (exclusive_warehouse(database),
          pytest.raises(WarehouseBusy, match=rf"another run holds {database} \(pid {os.getpid()}\)"),
          exclusive_warehouse(database)):
        pass
    with exclusive_warehouse(database):  # released
        pass


def test_a_process_holding_the_warehouse_file_is_named(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(database)).close()
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import duckdb, sys, time; con = duckdb.connect({str(database)!r});"
                               " print('open', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with (pytest.raises(WarehouseBusy, match=rf"another process holds {database} \(pid {holder.pid}\): close it"),
              exclusive_warehouse(database)):
            pass
    finally:
        holder.kill()
        holder.wait()
