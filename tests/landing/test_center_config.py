"""Center YAML validation: the shipped YAMLs load; a typo or a missing required field fails at load time."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assets.landing.center_config import ConfigError, centers_dir, load_center, load_centers

MINIMAL = {
    "center_id": "demo", "center_name": "Demo", "study": "multicenter",
    "tables": {"events": {"file": "events.csv", "columns": {"mrn": "MRN", "event_type": "Event",
                                                          "event_date": "Date"}}},
}


def write_yaml(tmp_path: Path, doc: dict, name: str = "demo") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_centers_load_with_their_delivery_settings():
    centers = load_centers()
    assert set(centers) == {"sch", "scmc", "ach", "sph", "szch"}
    assert centers["ach"].table("patients").encoding == "gbk"
    assert centers["ach"].table("patients").codes["sex"] == {"1": "M", "2": "F"}
    assert centers["scmc"].table("labs").sheet and centers["scmc"].table("labs").units["neutrophils"] == "cells/uL"
    assert centers["sph"].table("labs").layout == "wide" and centers["sph"].table("labs").delimiter == ";"
    assert centers["sph"].table("labs").detection_limits["il6"] == 0.32
    assert centers["sch"].table("labs").detection_limits["il6"] == 2.44
    assert centers["szch"].study == "case_series"


def test_defaults_apply_unless_a_table_overrides_them(tmp_path):
    doc = {**MINIMAL, "defaults": {"delimiter": ";"}}
    doc["tables"] = {**MINIMAL["tables"], "patients": {
        "file": "p.csv", "delimiter": ",", "columns": {"mrn": "M", "birth_date": "B", "sex": "S", "indication": "I"}}}
    center = load_center(write_yaml(tmp_path, doc))
    assert (center.table("events").delimiter, center.table("patients").delimiter) == (";", ",")
    assert center.table("events").encoding == "utf-8" and center.table("events").date_format == "%Y-%m-%d"


def test_inverse_codes_take_the_first_delivered_code_of_a_contract_code(tmp_path):
    codes = {"event_type": {"末次随访": "last_contact", "失访": "last_contact"}}
    doc = {**MINIMAL, "tables": {"events": {**MINIMAL["tables"]["events"], "codes": codes}}}
    assert load_center(write_yaml(tmp_path, doc)).table("events").inverse_codes("event_type") == {
        "last_contact": "末次随访"}


@pytest.mark.parametrize(("change", "words"), [
    ({"center_id": "other"}, "match the file name"),
    ({"study": "trial"}, "study"),
    ({"tables": {"events": {"file": "e.csv", "columns": {"mrn": "MRN", "event_date": "Date"}}}}, "event_type"),
    ({"tables": {"events": {**MINIMAL["tables"]["events"], "colums": {}}}}, "colums"),
    ({"tables": {"events": {**MINIMAL["tables"]["events"], "codes": {"grade": {}}}}}, "grade"),
    ({"tables": {"events": {**MINIMAL["tables"]["events"], "format": "xlsx"}}}, "sheet"),
    ({"tables": {"events": {**MINIMAL["tables"]["events"], "encoding": "latin-1"}}}, "encoding"),
    ({"tables": {"visits": MINIMAL["tables"]["events"]}}, "visits"),
    ({"tables": {"labs": {"file": "l.csv", "layout": "wide", "columns": {
        "mrn": "M", "cycle_no": "C", "timepoint": "T", "specimen": "S"}}}}, "analytes"),
    ({"tables": {"labs": {"file": "l.csv", "columns": {
        "mrn": "M", "cycle_no": "C", "timepoint": "T", "specimen": "S", "analyte": "A", "value": "V"},
        "detection_limits": {"il99": 1}}}}, "il99"),
    ({"tables": {"events": MINIMAL["tables"]["events"], "patients": {
        "file": "events.csv", "columns": {"mrn": "M", "birth_date": "B", "sex": "S", "indication": "I"}}}}, "share"),
    ({"tables": {"events": {**MINIMAL["tables"]["events"], "unit_aliases": {"10^3/uL": "x10^9/uL"}}}},
     r"cannot convert \['x10\^9/uL'\] \(known: .*x10\^9/L"),
])
def test_invalid_yaml_is_rejected_naming_the_problem(tmp_path, change, words):
    with pytest.raises(ConfigError, match=words):
        load_center(write_yaml(tmp_path, {**MINIMAL, **change}))


def test_centers_dir_is_overridable(tmp_path, monkeypatch):
    write_yaml(tmp_path, MINIMAL)
    monkeypatch.setenv("BLINA_CENTERS_DIR", str(tmp_path))
    assert centers_dir() == tmp_path and list(load_centers()) == ["demo"]
