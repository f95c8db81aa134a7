"""The scale generator: files, consistent row counts, deterministic bytes, bounded chunks, readable output, and
bad rows (--bad-rows) of every kind, in the asked fraction."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import polars as pl
import pytest

import demo_cohort.scale as scale
import demo_cohort.scale_bad as scale_bad
import demo_cohort.scale_frames as scale_frames
from assets.landing.center_config import REPO_ROOT, load_center
from assets.landing.contract import TABLE_FIELDS
from assets.landing.readers import read_table
from demo_cohort.__main__ import main as demo_main
from demo_cohort.cohort import LABS_SCHEMA
from demo_cohort.design_cycles import TERMS
from demo_cohort.scale_frames import synth_chunk
from demo_cohort.writers import write_center
from schemas.limits import AGE_MONTHS_MAX, CYCLE_NO_MAX, EARLIEST_DATE, LAB_HARD_LIMITS, WEIGHT_KG_MAX

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

PATIENTS, CENTERS, CHUNK = 2_000, 3, 400


def _digest(out: Path) -> dict[str, str]:
    return {str(f.relative_to(out)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(out.rglob("*")) if f.is_file()}


@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scale")
    scale.generate(PATIENTS, CENTERS, out, seed=11, chunk_patients=CHUNK, progress=False)
    return out


def _read_center(out: Path, center_id: str) -> dict[str, pl.DataFrame]:
    """Every table of a scaled center as the landing layer reads it (wide labs unpivoted)."""
    center = load_center(out / "centers" / f"{center_id}.yaml")
    return {name: read_table(center, name, out / "landing" / center_id / table.file)
            for name, table in center.tables.items()}


def test_every_center_delivers_every_table_in_its_style(scaled):
    for number, style in enumerate(["sch", "ach", "sph"], start=1):
        center = load_center(scaled / "centers" / f"scale_{number:03d}.yaml")
        source = load_center(REPO_ROOT / "data" / "centers" / f"{style}.yaml")
        assert [t.file for t in center.tables.values()] == [t.file for t in source.tables.values()]
        assert all((scaled / "landing" / center.center_id / t.file).stat().st_size > 0
                   for t in center.tables.values())


def test_a_clean_delivery_passes_the_gate_whole(scaled, tmp_path):
    """Without --bad-rows the generated patients are children, their dates in the past, their subset
    percentages possible: `make run` on them quarantines nothing and every patient reaches core. (Drawn
    apart, 1.5 % of the patients were 18 at their first infusion and one subset panel in ten summed above
    110 %: 3 % of the lab rows were refused before a single bad row was asked for.)"""
    env = {**os.environ, "BLINA_CENTERS_DIR": str(scaled / "centers"), "BLINA_LANDING_DIR": str(scaled / "landing"),
           "BLINA_WAREHOUSE_DIR": str(tmp_path), "BLINA_PSEUDONYM_KEY": "test",
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "data")])}
    env.pop("DAGSTER_HOME", None)
    made = subprocess.run([sys.executable, "-m", "orchestration.run"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        quarantined = {table: con.execute(f'SELECT count(*) FROM quarantine."{table}"').fetchone()[0]
                       for (table,) in con.execute("SELECT table_name FROM duckdb_tables()"
                                                   " WHERE schema_name = 'quarantine'").fetchall()}
        assert quarantined and set(quarantined.values()) == {0}, quarantined
        assert con.execute("SELECT count(*) FROM core.patients").fetchone()[0] == PATIENTS


def test_the_generator_ages_patients_under_the_consortium_limit():
    assert scale_frames.AGE_LIMIT_MONTHS == AGE_MONTHS_MAX


def test_the_project_readers_read_the_output_with_consistent_counts(scaled):
    sizes = [PATIENTS // CENTERS + (c < PATIENTS % CENTERS) for c in range(CENTERS)]
    for number, size in enumerate(sizes, start=1):
        center_id = f"scale_{number:03d}"
        tables = _read_center(scaled, center_id)
        patients, cycles, events = tables["patients"], tables["cycles"], tables["events"]
        assert patients.height == size and patients["mrn"].n_unique() == size  # one header, no repeated rows
        per_patient = cycles.group_by("mrn").len()["len"]
        assert per_patient.min() >= 1 and per_patient.max() <= 4
        assert tables["adverse_events"].height == len(TERMS) * cycles.height
        last_contact = load_center(scaled / "centers" / f"{center_id}.yaml").table("events") \
            .inverse_codes("event_type")["last_contact"]
        assert events.filter(pl.col("event_type") == last_contact)["mrn"].sort().equals(patients["mrn"].sort())
        assert set(tables["labs"]["mrn"]) <= set(patients["mrn"])
        assert 50 < sum(t.height for t in tables.values()) / size < 70  # about 58 raw rows a patient


def test_gbk_center_is_gbk(scaled):
    data = (scaled / "landing" / "scale_002" / "jianyan.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("gbk").startswith("住院号,")


def test_same_seed_same_bytes_other_seed_other_bytes(scaled, tmp_path):
    scale.generate(PATIENTS, CENTERS, tmp_path / "again", seed=11, chunk_patients=CHUNK, progress=False)
    assert _digest(tmp_path / "again") == _digest(scaled)
    scale.generate(PATIENTS, CENTERS, tmp_path / "other", seed=12, chunk_patients=CHUNK, progress=False)
    assert _digest(tmp_path / "other")["landing/scale_001/patients.csv"] != \
        _digest(scaled)["landing/scale_001/patients.csv"]


def test_chunks_are_bounded_whatever_n(monkeypatch, tmp_path):
    for n in (20_000, 10_000_000):
        chunks = scale.plan_chunks(n, 7, CHUNK)
        assert max(c.patients for c in chunks) == CHUNK
        assert sum(c.patients for c in chunks) == n
    seen = []

    def spy(rng, first_patient, n, *rest):
        seen.append(n)
        return synth_chunk(rng, first_patient, n, *rest)

    monkeypatch.setattr(scale, "synth_chunk", spy)
    scale.generate(1_500, 2, tmp_path, chunk_patients=200, progress=False)
    assert sum(seen) == 1_500 and max(seen) == 200


def test_streamed_csv_matches_the_demo_writer(tmp_path):
    """One chunk a center: the fast streaming path prints exactly what writers.write_center prints."""
    scale.generate(300, CENTERS, tmp_path / "scaled", seed=5, chunk_patients=300, progress=False)
    configs = scale.scaled_centers(CENTERS, tmp_path / "ref")
    seeds = np.random.SeedSequence(5).spawn(CENTERS)
    for chunk in scale.plan_chunks(300, CENTERS, 300):
        config = configs[chunk.center]
        frames = synth_chunk(np.random.default_rng(seeds[chunk.index]), 0, chunk.patients,
                             scale._mrn_prefix(chunk.center), config.center_id, config.table("labs").detection_limits)
        for path in write_center(SimpleNamespace(**frames), config, tmp_path / "ref" / "landing"):
            assert path.read_bytes() == (tmp_path / "scaled" / "landing" / config.center_id / path.name).read_bytes()


def test_a_smaller_run_removes_the_centers_of_a_larger_one(tmp_path):
    scale.generate(60, 3, tmp_path, progress=False)
    scale.main(["--patients", "40", "--centers", "2", "--out", str(tmp_path)])
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == ["scale_001", "scale_002"]
    assert sorted(p.name for p in (tmp_path / "centers").iterdir()) == ["scale_001.yaml", "scale_002.yaml"]


@pytest.fixture(scope="module")
def chunk() -> dict[str, pl.DataFrame]:
    return synth_chunk(np.random.default_rng(3), 100, 3_000, "S9", "scale_009", {"il6": 2.44, "il10": 2.44})


def test_chunk_frames_have_the_demo_schemas(chunk):
    assert dict(chunk["labs"].schema) == LABS_SCHEMA
    # Every contract table but the optional therapy_lines, which the multicenter demo centers do not deliver.
    assert set(chunk) == set(TABLE_FIELDS) - {"therapy_lines"}
    for table in chunk:
        marker = {"marker"} if table == "labs" else set()
        assert set(chunk[table].columns) == {*TABLE_FIELDS[table], "center_id"} | marker
    assert chunk["patients"]["mrn"].to_list()[:2] == ["S900000100", "S900000101"]


def test_chunk_cycles_follow_each_other(chunk):
    cycles = chunk["cycles"].sort("mrn", "cycle_no")
    per_patient = cycles.group_by("mrn").agg(pl.col("cycle_no").max().alias("n"), pl.len())
    assert per_patient.filter(pl.col("n") != pl.col("len")).is_empty()  # 1..k without gaps
    gaps = cycles.with_columns(gap=(pl.col("start_date") - pl.col("end_date").shift().over("mrn")).dt.total_days())
    assert set(gaps["gap"].drop_nulls()) == {15}  # 14 days off between cycles
    assert 1.1 < cycles.height / 3_000 < 1.35


def test_chunk_events_end_in_one_last_contact(chunk):
    last = chunk["events"].group_by("mrn", maintain_order=True).agg(pl.col("event_type").last(),
                                                                     pl.col("event_date").max().alias("latest"),
                                                                     pl.col("event_date").last())
    assert last.height == 3_000 and set(last["event_type"]) == {"last_contact"}
    assert (last["event_date"] == last["latest"]).all()


def test_chunk_values_under_a_kit_floor_sit_at_it(chunk):
    labs = chunk["labs"]
    marked = labs.filter(pl.col("marker") == "<")
    assert set(marked["analyte"]) == {"il6", "il10"} and (marked["value"] == 2.44).all()
    assert labs.filter(pl.col("analyte").is_in(["il6", "il10"]) & pl.col("marker").is_null())["value"].min() > 2.44
    assert labs.filter(pl.col("analyte") == "il2")["value"].min() < 2.44  # no floor declared for il2


def test_demo_cli_scale_mode_and_never_into_the_repository(tmp_path):
    files = demo_main(["--patients", "30", "--centers", "2", "--out", str(tmp_path)])
    assert len(files) == 12 and all(f.is_relative_to(tmp_path / "landing") for f in files)
    with pytest.raises(ValueError, match="never committed"):
        scale.generate(30, 2, Path(__file__).parent / "scaled", progress=False)


# --- bad rows (--bad-rows) ------------------------------------------------------------------------------------

BAD = 0.05
# table -> the kinds of bad row that fit it (scale_bad: patients and events have no number and no cycle)
KINDS_BY_TABLE = {
    "patients": {"date", "unknown_code", "duplicate"}, "events": {"date", "unknown_code", "duplicate"},
    **{name: set(scale_bad.KINDS) for name in ("cycles", "assessments", "labs", "adverse_events")},
}
# The clean output since its patients are children at their first infusion, its dates before the data cut-off and
# its subset percentages possible (the bad rows, when asked for, come on top of it).
TODAY_DIGEST = "0a718ff9fe66c17ae316c11b171dce2d202280d657ee7821f23409e56596feda"


@pytest.fixture(scope="module")
def spoiled(tmp_path_factory) -> Path:
    """The `scaled` cohort again, with BAD of its rows bad."""
    out = tmp_path_factory.mktemp("spoiled")
    scale.generate(PATIENTS, CENTERS, out, seed=11, chunk_patients=CHUNK, progress=False, bad_rows=BAD)
    return out


def _split_lines(root: Path, center_id: str, table) -> list[list[str]]:
    """The cells of every line of `table`'s file of `center_id` under `root`."""
    text = (root / "landing" / center_id / table.file).read_bytes().decode(table.encoding)
    return [line.split(table.delimiter) for line in text.splitlines()]


def _bad_rows(clean: Path, spoiled: Path) -> dict[str, list[tuple]]:
    """Table -> (kind, TableConfig, header, clean cell, spoiled cell) of every bad line of `spoiled`;
    "<table> delivered" -> one None per delivered row. A bad line is a copy of the clean line before it, or has
    one changed cell."""
    found: dict[str, list] = {}
    for number in range(1, CENTERS + 1):
        center = load_center(spoiled / "centers" / f"scale_{number:03d}.yaml")
        for name, table in center.tables.items():
            good, bad = _split_lines(clean, center.center_id, table), _split_lines(spoiled, center.center_id, table)
            header, rows, i, j, after_clean = bad[0], found.setdefault(name, []), 1, 1, False
            while i < len(bad):
                if j < len(good) and bad[i] == good[j]:
                    i, j, after_clean = i + 1, j + 1, True
                elif after_clean and bad[i] == bad[i - 1]:  # a duplicated row is never changed too
                    rows.append(("duplicate", table, None, None, None))
                    i, after_clean = i + 1, False
                else:
                    (column,) = [c for c, (g, b) in enumerate(zip(good[j], bad[i])) if g != b]
                    rows.append((_kind(table, header[column], bad[i][column]), table, header[column],
                                 good[j][column], bad[i][column]))
                    i, j, after_clean = i + 1, j + 1, False
            found.setdefault(f"{name} delivered", []).extend([None] * (len(bad) - 1))
    return found


def _kind(table, header: str, cell: str) -> str:
    if cell in scale_bad.UNKNOWN_CODES.values():
        return "unknown_code"
    if cell in scale_bad.TEXTS:
        return "text_in_number"
    if header == table.columns.get("cycle_no"):
        return "cycle_no"
    if header == table.columns.get(scale_bad.DATE_FIELD[table.name]):
        return "date"
    return "out_of_range"


@pytest.fixture(scope="module")
def bad_rows(scaled, spoiled):
    return _bad_rows(scaled, spoiled)


def test_the_fraction_of_bad_rows_is_respected_in_every_table(bad_rows):
    for name in KINDS_BY_TABLE:
        delivered, bad = len(bad_rows[f"{name} delivered"]), len(bad_rows[name])
        assert abs(bad - BAD * delivered) < 4 * (BAD * delivered) ** 0.5 + 2, (name, bad, delivered)


def test_every_kind_of_bad_row_occurs_where_it_fits(bad_rows):
    for name, kinds in KINDS_BY_TABLE.items():
        assert {row[0] for row in bad_rows[name]} == kinds, name


def test_bad_values_break_the_rules_they_stand_for(bad_rows):
    """A bad date cannot be read or precedes EARLIEST_DATE; an out-of-range value passes a hard limit."""
    ceilings = {"labs": LAB_HARD_LIMITS["platelets"][1], "cycles": WEIGHT_KG_MAX, "assessments": 100,
                "adverse_events": 5}
    for name in KINDS_BY_TABLE:
        for kind, table, header, clean, cell in bad_rows[name]:
            if kind == "date":
                assert _date(cell, table.date_format) < EARLIEST_DATE, cell  # 30 February, or before 1990
            elif kind == "cycle_no":
                assert not 1 <= int(cell) <= CYCLE_NO_MAX
            elif kind == "out_of_range":  # platelets, weight, blasts, grade: the only slips made
                assert float(cell) > ceilings[name] and float(cell) > 10 * float(clean), (name, header, cell)
            elif kind == "unknown_code":
                assert all(cell not in mapping for mapping in table.codes.values())


def _date(text: str, date_format: str):
    """The date, or date.min where it does not exist."""
    try:
        return datetime.strptime(text, date_format).date()
    except ValueError:
        return date.min


def test_spoiled_files_still_load(spoiled):
    for number in range(1, CENTERS + 1):
        assert all(frame.height for frame in _read_center(spoiled, f"scale_{number:03d}").values())


def test_bad_rows_are_the_same_for_a_seed(spoiled, tmp_path):
    scale.generate(PATIENTS, CENTERS, tmp_path / "again", seed=11, chunk_patients=CHUNK, progress=False, bad_rows=BAD)
    assert _digest(tmp_path / "again") == _digest(spoiled)


def test_no_bad_rows_leaves_the_output_as_before(tmp_path):
    scale.generate(300, 3, tmp_path, seed=5, chunk_patients=120, progress=False, bad_rows=0.0)
    digest = hashlib.sha256()
    for path in sorted((tmp_path / "landing").rglob("*.csv")):
        digest.update(str(path.relative_to(tmp_path)).encode())
        digest.update(path.read_bytes())
    # If a polars upgrade changes how numbers print, this changes too: check the diff, then update the digest.
    assert digest.hexdigest() == TODAY_DIGEST
