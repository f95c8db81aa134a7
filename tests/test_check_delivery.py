"""`make check-delivery`: a center's files through landing, staging and the gate in a scratch warehouse: what
would be refused, and why, without touching the warehouse or the drop zone."""

import os

import pytest

from orchestration.check_delivery import check_delivery
from tests.validation.cases import CASES
from tests.validation.centers import write_center

pytestmark = pytest.mark.slow  # builds warehouses: make test-all


def test_a_dry_run_names_what_would_be_refused_and_touches_nothing(tmp_path, capsys, monkeypatch):
    landing, centers, warehouse = tmp_path / "landing", tmp_path / "centers", tmp_path / "warehouse"
    monkeypatch.setenv("BLINA_WAREHOUSE_DIR", str(warehouse))
    write_center(landing, centers, "mrd", CASES["mrd"].files)  # MRD 120 % in the first assessment
    sent = {path.name: path.read_bytes() for path in (landing / "mrd").iterdir()}
    assert check_delivery("mrd", landing / "mrd", centers) == 1
    out = capsys.readouterr().out
    assert "assessments: 6 rows read, 5 would pass, 1 would be quarantined" in out
    assert "assessments.csv row 1, column mrd_pct, value '120': " in out and "MRD 120 %" in out
    assert "patients: 2 rows read, 2 would pass, 0 would be quarantined" in out
    assert not warehouse.exists() and os.environ["BLINA_WAREHOUSE_DIR"] == str(warehouse)
    assert {path.name: path.read_bytes() for path in (landing / "mrd").iterdir()} == sent
    write_center(landing, centers, "good", {})
    assert check_delivery("good", landing / "good", centers) == 0
