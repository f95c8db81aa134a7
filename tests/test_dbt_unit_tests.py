"""dbt's unit tests (`unit_tests:` in dbt_project/models/staging/_unit_tests.yml, intermediate/ and core/):
staging's parsing rules, the intermediate derivations and core's time to event, each a model run on
given rows against the rows it must return. Their inputs are SQL, so they run on an empty warehouse. Slow
tier: a dbt process parses the whole project first (~10 s on the 2-core machine, more than the fast tier
allows), then the tests take ~3 s. The warehouse's own builds leave them out (orchestration/dbt.py)."""

import json
import re
from pathlib import Path

import pytest

from tests.test_dbt_models import run_dbt

pytestmark = pytest.mark.slow


def test_every_unit_test_passes(tmp_path: Path):
    output = run_dbt(tmp_path, "test", "--select", "test_type:unit")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    unit_tests = {test["name"] for test in manifest["unit_tests"].values()}
    passed = set(re.findall(r"PASS \w+::(\w+)", output))
    # Staging's parsing rules and the intermediate derivations each have theirs.
    assert {test["model"] for test in manifest["unit_tests"].values()} >= {
        "stg_cycles", "stg_assessments", "stg_labs", "int_cycle_response", "int_cycles", "int_patients",
        "time_to_event"}
    assert passed == unit_tests, output[-3000:]
