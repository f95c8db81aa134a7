"""Writers: canonical frames -> each center's files -> read back with the same YAML -> the canonical values."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.landing.center_config import load_centers
from assets.landing.readers import read_table
from demo_cohort.writers import write_center

CENTERS = load_centers()
MULTICENTER = sorted(c for c, center in CENTERS.items() if center.study == "multicenter")
KIT_FLOOR = {"sch": 2.44, "scmc": 2.44, "ach": 0.32, "sph": 0.32}
NUMBERS = {"value", "dose_start", "dose_target", "weight_kg", "bsa_m2", "cyclophosphamide_dose_mg_m2",
           "age_at_diagnosis_months"}
TABLES = ("patients", "cycles", "assessments", "labs", "adverse_events", "events")


def toy_cohort() -> SimpleNamespace:
    """Two patients per center with the awkward cases: markers, zeros, empty cells, unit conversions."""
    rows: dict[str, list[dict]] = {table: [] for table in TABLES}
    for center_id in MULTICENTER:
        for i, sex in enumerate(("M", "F"), start=1):
            mrn = f"{center_id.upper()}{i:04d}"
            key = {"mrn": mrn, "center_id": center_id}
            rows["patients"].append({**key, "name": f"王{i}", "birth_date": date(2012, 3, i), "sex": sex,
                                     "diagnosis_date": date(2019, 5, 20 + i),
                                     "indication": ("relapse", "chemo_delay")[i - 1],
                                     "cytogenetics": ("bcr_abl1;ikzf1_deletion", None)[i - 1],
                                     "protocol": "CCCG-ALL-2015"})
            rows["cycles"].append({**key, "cycle_no": 1, "start_date": date(2021, 1, 4), "end_date": date(2021, 1, 31),
                                   "dose_start": 5.0, "dose_target": 15.0, "dose_unit": "ug/m2/day",
                                   "step_up_date": date(2021, 1, 11), "weight_kg": 24.5 + i, "bsa_m2": 0.92,
                                   "bridging_chemo": "Y", "cyclophosphamide": ("Y", "N")[i - 1],
                                   "cyclophosphamide_dose_mg_m2": (1000.0, None)[i - 1]})
            for timepoint, blasts, mrd in (("pre_cycle", 12.5, 3.2), ("end_of_cycle", 0.5, 0.0)):
                rows["assessments"].append({**key, "cycle_no": 1, "timepoint": timepoint,
                                            "assessment_date": date(2021, 1, 2) if mrd else None,
                                            "bm_blasts_pct": blasts, "mrd_pct": mrd, "fusion_transcript_pct": None})
            for specimen, analyte, value, marker, unit in (
                    ("blood", "neutrophils", 1.234, None, "x10^9/L"), ("blood", "platelets", 87.0, None, "x10^9/L"),
                    ("blood", "cd19_abs", 0.0, None, "x10^9/L"), ("blood", "cd3_pct", 71.3, None, "%"),
                    ("serum", "il6", KIT_FLOOR[center_id], "<", "pg/mL"),
                    ("serum", "il1b", KIT_FLOOR[center_id], "<", "pg/mL"), ("serum", "il10", 15.7, None, "pg/mL"),
                    ("serum", "igg", 8.5, None, "g/L")):
                rows["labs"].append({**key, "cycle_no": 1, "timepoint": "baseline",
                                     "sample_date": date(2021, 1, 3), "specimen": specimen, "analyte": analyte,
                                     "value": value, "marker": marker, "unit": unit})
            rows["adverse_events"] += [{**key, "cycle_no": 1, "term": "crs", "grade": 2, "onset_date": date(2021, 1, 5),
                                        "description": None},
                                       {**key, "cycle_no": 1, "term": "neutropenia", "grade": None, "onset_date": None,
                                        "description": None}]
            rows["events"].append({**key, "event_type": "last_contact", "event_date": date(2023, 6, 30),
                                   "relapse_site": None, "cd19_status": None, "death_cause": None, "detail": None})
    return SimpleNamespace(**{table: pl.DataFrame(rows[table], infer_schema_length=None) for table in TABLES})


def staged(center_id: str, table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """What staging will make of the read-back text, written independently of the writer: codes, dates,
    detection markers ("<x" -> x, ND -> 0) and units (cells/uL -> x10^9/L)."""
    config = CENTERS[center_id].table(table)
    frame = frame.with_columns(pl.col(f).replace(codes) for f, codes in config.codes.items() if f in frame.columns)
    typed = []
    for name in frame.columns:
        column = pl.col(name)
        if name.endswith("_date"):
            typed.append(column.str.strptime(pl.Date, config.date_format))
        elif name in ("cycle_no", "grade"):
            typed.append(column.cast(pl.Int64))
        elif name in NUMBERS or name.endswith("_pct"):
            typed.append(column.str.replace("^<", "").replace("ND", "0").cast(pl.Float64))
        else:
            typed.append(column)
    frame = frame.select(typed)
    if table == "labs":
        per_ul = [a for a, unit in config.units.items() if unit == "cells/uL"]
        frame = frame.with_columns(pl.when(pl.col("analyte").is_in(per_ul)).then(pl.col("value") / 1000)
                                   .otherwise(pl.col("value")).alias("value"))
    return frame


@pytest.fixture(scope="module")
def cohort():
    return toy_cohort()


@pytest.fixture(scope="module")
def written(cohort, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    for center_id in MULTICENTER:
        write_center(cohort, CENTERS[center_id], out)
    return out


def read_back(out: Path, center_id: str, table: str) -> pl.DataFrame:
    return read_table(CENTERS[center_id], table, out / center_id / CENTERS[center_id].table(table).file)


@pytest.mark.parametrize("center_id", MULTICENTER)
@pytest.mark.parametrize("table", TABLES)
def test_every_row_and_field_round_trips(cohort, written, center_id, table):
    canonical = getattr(cohort, table).filter(pl.col("center_id") == center_id)
    frame = read_back(written, center_id, table)
    rows = canonical.select("mrn", "cycle_no", "timepoint", "specimen").n_unique() if "source_column" in frame.columns \
        else canonical.height  # a wide row holds the values of one patient, cycle, time point and specimen
    assert sorted(frame["source_row"].unique()) == list(range(1, rows + 1))
    got = staged(center_id, table, frame.drop("source_row", "source_column", "extra", strict=False))
    keys = [c for c in ("mrn", "cycle_no", "timepoint", "analyte", "term", "event_type") if c in got.columns]
    # a measure under the assay sensitivity is printed "<limit": it reads back as the limit
    below = CENTERS[center_id].table(table).render.below_limit
    expected = canonical.select(got.columns).with_columns(pl.col(f).clip(lower_bound=v) for f, v in below.items())
    assert_frame_equal(got.sort(keys), expected.sort(keys), check_dtypes=False)
    assert extra_is_empty(frame)


def extra_is_empty(frame: pl.DataFrame) -> bool:
    return frame["extra"].null_count() == frame.height


def test_files_look_like_each_hospital_export(written):
    sch = (written / "sch" / "labs.csv").read_text(encoding="utf-8").splitlines()
    assert sch[0] == "MRN,Cycle #,Time Point,Sample Date,Specimen,Test,Result,Unit"
    assert "SCH0001,1,Baseline,2021-01-03,Serum,IL-6,<2.44,pg/mL" in sch
    ach = (written / "ach" / "huanzhe_jiben.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        ach.decode("utf-8")
    assert ach.decode("gbk").splitlines()[1] == (
        "ACH0001,王1,01/03/2012,1,21/05/2019,复发,bcr_abl1;ikzf1_deletion,CCCG-ALL-2015")
    sph = (written / "sph" / "sph_lab_results.csv").read_text(encoding="utf-8").splitlines()
    header, serum = sph[0].split(";"), dict(zip(sph[0].split(";"), sph[2].split(";")))
    assert header[:5] == ["登记号", "疗程", "采样节点", "采样日期", "标本"]
    assert len(sph) == 1 + 2 * 2  # a row per patient and specimen
    assert (serum["IL-6(pg/mL)"], serum["IL-1β(pg/mL)"], serum["IL-10(pg/mL)"]) == ("0.32", "<0.32", "15.7")
    assert dict(zip(header, sph[1].split(";")))["CD19+(10^9/L)"] == "ND"
    assert "SPH0001;1;疗程结束;;0.5;<0.01;" in (written / "sph" / "sph_marrow.csv").read_text(encoding="utf-8")


def test_scmc_workbook_has_a_sheet_per_table_with_counts_in_cells_per_ul(written):
    import fastexcel

    workbook = fastexcel.read_excel(written / "scmc" / "blina_research_export.xlsx")
    assert workbook.sheet_names == [CENTERS["scmc"].table(t).sheet for t in TABLES]
    labs = workbook.load_sheet_by_name("检验结果").to_polars()  # typed cells, as Excel shows them
    assert labs.schema["结果"] == pl.String  # numbers and "<2.44" markers in one column
    neutrophils = labs.filter(pl.col("检验项目") == "中性粒细胞计数")
    assert neutrophils["结果"].to_list() == ["1234", "1234"]
    assert neutrophils["采样日期"][0] == datetime(2021, 1, 3)  # a date cell, not text
    assert labs.filter(pl.col("检验项目") == "血小板计数")["结果"][0] == "87000"


def test_writing_twice_gives_identical_bytes(cohort, written, tmp_path):
    for center_id in MULTICENTER:
        write_center(cohort, CENTERS[center_id], tmp_path)
    assert digests(tmp_path) == digests(written)


def test_the_workbook_carries_no_clock_time(written):
    """Within one second two writes match anyway: check that no part of the zip records the clock."""
    with zipfile.ZipFile(written / "scmc" / "blina_research_export.xlsx") as workbook:
        core = workbook.read("docProps/core.xml").decode()
        assert {info.date_time[0] for info in workbook.infolist()} == {1980}
    assert date.today().isoformat() not in core and "dcterms:created" in core


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_floor_that_disagrees_with_the_yaml_kit_is_refused(cohort, tmp_path):
    wrong_kit = SimpleNamespace(**vars(cohort))
    wrong_kit.labs = cohort.labs.with_columns(value=pl.when(pl.col("marker") == "<").then(9.9)
                                              .otherwise(pl.col("value")))
    with pytest.raises(ValueError, match="detection limit"):
        write_center(wrong_kit, CENTERS["sch"], tmp_path)


@pytest.fixture
def demo_landing(tmp_path, monkeypatch) -> tuple[Path, Path, list[int]]:
    """The CLI run twice with one seed, on the toy cohort: the calibrated cohort takes minutes to build, and
    its own determinism is tested with it (tests/demo_cohort/test_cohort.py)."""
    import demo_cohort.cohort
    from demo_cohort.__main__ import main

    seeds: list[int] = []
    monkeypatch.setattr(demo_cohort.cohort, "build_cohort", lambda seed: seeds.append(seed) or toy_cohort())
    first, second = tmp_path / "first", tmp_path / "second"
    main(["--out", str(first), "--seed", "7"])
    main(["--out", str(second), "--seed", "7"])
    return first, second, seeds


def test_the_cli_writes_the_four_centers_identically_for_one_seed(demo_landing):
    first, second, seeds = demo_landing
    assert seeds == [7, 7]
    assert sorted(p.name for p in first.iterdir()) == MULTICENTER  # never the hand-coded case series
    assert digests(first) and digests(first) == digests(second)
    for center_id in MULTICENTER:
        for table in CENTERS[center_id].tables:
            assert read_back(first, center_id, table).height > 0
