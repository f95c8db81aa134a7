"""The scale benchmark's re-delivery (bench_scale.change_one_value): one cell of one file, nothing else.

Not a timed test: the benchmark itself runs only through `make bench-scale`.
"""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import pytest

import demo_cohort.scale as scale
from assets.landing.center_config import load_center

_SPEC = importlib.util.spec_from_file_location("bench_scale", Path(__file__).with_name("bench_scale.py"))
bench_scale = sys.modules["bench_scale"] = importlib.util.module_from_spec(_SPEC)  # dataclasses look it up
_SPEC.loader.exec_module(bench_scale)


@pytest.mark.parametrize("center_id", ["scale_001", "scale_002", "scale_003"])  # long UTF-8, long GBK, wide ";"
def test_one_center_redelivers_one_corrected_value(tmp_path, center_id):
    scale.generate(90, 3, tmp_path, seed=3, progress=False)
    folder = tmp_path / "landing" / center_id
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    changed = bench_scale.change_one_value(tmp_path, center_id)
    after = {path.name: path.read_bytes() for path in folder.iterdir()}
    (name,) = [name for name in before if before[name] != after[name]]
    assert name == max(before, key=lambda n: len(before[n])) and changed.startswith(f"{center_id}/{name} row ")
    table = next(t for t in load_center(tmp_path / "centers" / f"{center_id}.yaml").tables.values()
                 if t.file == name)
    old, new = (data.decode(table.encoding).splitlines() for data in (before[name], after[name]))
    assert len(old) == len(new)
    (row,) = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
    cells = [(a, b) for a, b in zip(old[row].split(table.delimiter), new[row].split(table.delimiter)) if a != b]
    assert len(cells) == 1 and float(cells[0][1]) == pytest.approx(float(cells[0][0]) * 1.1, abs=1e-4)


def test_progress_shows_the_running_stage_and_counts_the_stages_done():
    shown = io.StringIO()

    def line() -> str:  # what the terminal shows: the last redraw
        return shown.getvalue().split("\r")[-1].strip()

    with bench_scale.progress(2, file=shown, disable=False) as stage:
        stage("the generator")
        assert line() == "bench-scale: 0/2 stages done, 00:00 elapsed; the generator ..."
        stage("run 1")
        assert line() == "bench-scale: 1/2 stages done, 00:00 elapsed; run 1 ..."
    assert line() == "bench-scale: 2/2 stages done, 00:00 elapsed; done"


def test_busy_spans_count_overlapping_steps_once():
    # Steps side by side overlap: the time outside every step is the run's time minus their union.
    assert bench_scale.busy_spans([(5, 6), (0, 2), (1, 3), (3, 4), (6, 6.5)]) == [(0, 4), (5, 6.5)]
    assert bench_scale.busy_spans([]) == []
