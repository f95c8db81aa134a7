"""Small hand-made centers for the bad-input tests: a clean two-patient delivery in contract headers, and
the same delivery with one defect each (docs/delivery-contract.md). Every center uses record numbers P1 and
P2, so the same record number is always delivered by several centers.
"""

import csv
import io
from collections.abc import Callable
from pathlib import Path

import yaml

from assets.landing.contract import TABLE_FIELDS

FILES = {table: f"{table}.csv" for table in TABLE_FIELDS}

CLEAN = {
    "patients": [
        {"mrn": "P1", "name": "Test One", "birth_date": "2012-04-10", "sex": "M", "diagnosis_date": "2019-05-02",
         "indication": "relapse", "cytogenetics": "none", "protocol": "CCCG-ALL-2015"},
        {"mrn": "P2", "name": "Test Two", "birth_date": "2015-09-01", "sex": "F", "diagnosis_date": "2020-01-15",
         "indication": "mrd_positive", "cytogenetics": "etv6_runx1", "protocol": "CCCG-ALL-2015"},
    ],
    "cycles": [
        {"mrn": "P1", "cycle_no": "1", "start_date": "2021-03-01", "end_date": "2021-03-28", "dose_start": "5",
         "dose_target": "15", "step_up_date": "2021-03-08", "weight_kg": "30", "bsa_m2": "1.05",
         "bridging_chemo": "Y", "cyclophosphamide": "N"},
        {"mrn": "P1", "cycle_no": "2", "start_date": "2021-04-12", "end_date": "2021-05-09", "dose_start": "15",
         "weight_kg": "30.5", "bsa_m2": "1.06", "bridging_chemo": "N"},
        {"mrn": "P2", "cycle_no": "1", "start_date": "2021-06-01", "end_date": "2021-06-14", "dose_start": "5",
         "dose_target": "15", "step_up_date": "2021-06-08", "weight_kg": "18", "bsa_m2": "0.74",
         "bridging_chemo": "N"},
    ],
    "assessments": [
        {"mrn": "P1", "cycle_no": "1", "timepoint": "pre_cycle", "assessment_date": "2021-02-26",
         "bm_blasts_pct": "12", "mrd_pct": "9.5"},
        {"mrn": "P1", "cycle_no": "1", "timepoint": "end_of_cycle", "assessment_date": "2021-03-29",
         "bm_blasts_pct": "1", "mrd_pct": "<0.01"},
        {"mrn": "P1", "cycle_no": "2", "timepoint": "pre_cycle", "assessment_date": "2021-04-10",
         "bm_blasts_pct": "0", "mrd_pct": "<0.01"},
        {"mrn": "P1", "cycle_no": "2", "timepoint": "end_of_cycle", "assessment_date": "2021-05-10",
         "mrd_pct": "<0.01"},
        {"mrn": "P2", "cycle_no": "1", "timepoint": "pre_cycle", "assessment_date": "2021-05-30",
         "bm_blasts_pct": "2", "mrd_pct": "0.5"},
        {"mrn": "P2", "cycle_no": "1", "timepoint": "end_of_cycle", "assessment_date": "2021-06-15",
         "bm_blasts_pct": "1", "mrd_pct": "<0.01"},
    ],
    "labs": [
        {"mrn": "P1", "cycle_no": "1", "timepoint": "baseline", "sample_date": "2021-02-28", "specimen": "blood",
         "analyte": "neutrophils", "value": "1.2", "unit": "x10^9/L"},
        {"mrn": "P1", "cycle_no": "1", "timepoint": "baseline", "sample_date": "2021-02-28", "specimen": "blood",
         "analyte": "platelets", "value": "150", "unit": "x10^9/L"},
        {"mrn": "P1", "cycle_no": "1", "timepoint": "baseline", "sample_date": "2021-02-28", "specimen": "blood",
         "analyte": "cd3_pct", "value": "70", "unit": "%"},
        {"mrn": "P1", "cycle_no": "1", "timepoint": "day14", "sample_date": "2021-03-14", "specimen": "serum",
         "analyte": "il6", "value": "<2.44", "unit": "pg/mL"},
        {"mrn": "P1", "cycle_no": "1", "timepoint": "day14", "sample_date": "2021-03-14", "specimen": "blood",
         "analyte": "cd3_abs", "value": "1.8", "unit": "x10^9/L"},
        {"mrn": "P2", "cycle_no": "1", "timepoint": "baseline", "sample_date": "2021-05-31", "specimen": "blood",
         "analyte": "neutrophils", "value": "2.0", "unit": "x10^9/L"},
    ],
    "adverse_events": [
        {"mrn": "P1", "cycle_no": "1", "term": "crs", "grade": "1", "onset_date": "2021-03-02"},
        {"mrn": "P1", "cycle_no": "1", "term": "fever", "grade": "1", "onset_date": "2021-03-02"},
        {"mrn": "P1", "cycle_no": "2", "term": "crs", "grade": "0"},
        {"mrn": "P2", "cycle_no": "1", "term": "crs", "grade": "0"},
        {"mrn": "P2", "cycle_no": "1", "term": "neutropenia", "grade": ""},
    ],
    "events": [
        {"mrn": "P1", "event_type": "last_contact", "event_date": "2022-03-01"},
        {"mrn": "P2", "event_type": "relapse", "event_date": "2021-12-01", "relapse_site": "bone_marrow",
         "cd19_status": "positive"},
        {"mrn": "P2", "event_type": "last_contact", "event_date": "2022-02-01"},
    ],
    "therapy_lines": [
        {"mrn": "P1", "line_no": "1", "phase": "frontline_induction", "regimen": "VDLD", "start_date": "2019-05-06",
         "end_date": "2019-06-20", "protocol": "CCCG-ALL-2015"},
        {"mrn": "P1", "line_no": "2", "phase": "reinduction", "regimen": "DEAL", "start_date": "2021-01-04",
         "end_date": "2021-02-01"},
        {"mrn": "P2", "line_no": "1", "phase": "frontline_induction", "regimen": "PVDL"},
    ],
}


def csv_text(rows: list[dict], fields) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def clean_files() -> dict[str, bytes]:
    """file name -> bytes of the clean delivery."""
    return {FILES[table]: csv_text(rows, TABLE_FIELDS[table]).encode() for table, rows in CLEAN.items()}


def changed(table: str, index: int, **fields) -> dict[str, bytes]:
    """The one file of `table`, with row `index` changed (the other files stay clean)."""
    return changed_rows(table, {index: fields})


def changed_rows(table: str, changes: dict[int, dict[str, str]]) -> dict[str, bytes]:
    """The one file of `table`, with several rows changed: {row index: {field: delivered text}}."""
    rows = [{**row, **changes.get(index, {})} for index, row in enumerate(CLEAN[table])]
    return {FILES[table]: csv_text(rows, TABLE_FIELDS[table]).encode()}


def added(table: str, *extra_rows: dict) -> dict[str, bytes]:
    return {FILES[table]: csv_text([*CLEAN[table], *extra_rows], TABLE_FIELDS[table]).encode()}


def write_center(landing: Path, centers: Path, center_id: str, files: dict[str, bytes],
                 settings: dict[str, dict] | None = None) -> None:
    """The center's YAML (contract headers, ISO dates, UTF-8; `settings`: table -> extra keys of its entry)
    and its files, clean where `files` says nothing."""
    tables = {table: {"file": FILES[table], "columns": {field: field for field in TABLE_FIELDS[table]},
                      **(settings or {}).get(table, {})}
              for table in TABLE_FIELDS}
    config = {"center_id": center_id, "center_name": f"Test center {center_id}", "study": "multicenter",
              "tables": tables}
    centers.mkdir(parents=True, exist_ok=True)
    (centers / f"{center_id}.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    folder = landing / center_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in {**clean_files(), **files}.items():
        (folder / name).write_bytes(data)


Defect = Callable[[], dict[str, bytes]]
