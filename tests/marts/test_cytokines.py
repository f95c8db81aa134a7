"""Cytokine marts: the CRS population and its pairs, values at a kit's floor, Table 4's ICANS episodes and how
the reference's case numbers are mapped onto them."""

import datetime as dt

import polars as pl
import pytest

from assets.marts import cytokines, per_center, shared
from tests.marts.core_frames import START, cycle
from tests.marts.immune_frames import cycles, database, lab, labs, pre_post, query, reproduced


def adverse_events(rows: list[tuple]) -> pl.DataFrame:
    """(subject_id, cycle_no, term, grade, onset day after START)."""
    return pl.DataFrame(
        [{"subject_id": s, "cycle_no": c, "term": t, "grade": g, "onset_date": START + dt.timedelta(days=d)}
         for s, c, t, g, d in rows],
        schema={"subject_id": pl.Utf8, "cycle_no": pl.Int32, "term": pl.Utf8, "grade": pl.Int32,
                "onset_date": pl.Date})


def serum(subject_id: str, analyte: str, pre: float | None, onset: float | None, floor: float = 2.44) -> list[dict]:
    """Serum before the cycle and at CRS onset; at or under the kit's floor a value is flagged below LOD."""
    return [{**row, "below_lod": row["value"] <= floor, "detection_limit": floor}
            for row in pre_post(subject_id, analyte, pre, onset, "crs_onset", specimen="serum")]


def test_the_crs_population_its_pairs_and_values_at_the_floor():
    """a-c: CRS with both draws (IL-6 2.44 at the floor -> 10, 2.44 -> 2.44 (a zero change), 3 -> 20);
    d: CRS without an onset draw (counted); e: no CRS, a baseline only (not in the population)."""
    cyc = cycles([cycle(s, days=28) for s in "abcde"])
    ae = adverse_events([(s, 1, "crs", 1, 2) for s in "abcd"] + [("e", 1, "crs", 0, 0)])
    rows = serum("a", "il6", 2.44, 10.0) + serum("b", "il6", 2.44, 2.44) + serum("c", "il6", 3.0, 20.0)
    rows += serum("d", "il6", 5.0, None) + serum("e", "il6", 99.0, None)
    rows += [lab("a", "il6", 4.0, "day28", specimen="serum"), lab("e", "il6", 1.0, "day28", specimen="serum")]
    con = database(labs(rows), cyc, adverse_events=ae)
    table, tests = cytokines.cytokine_table(con, cytokines.create_cytokine_pairs(con))
    row = table.row(0, named=True)
    assert (row["analyte"], row["n_pairs"], row["n_missing_crs_onset"], row["n_missing_pre"]) == ("il6", 3, 1, 0)
    assert (row["pre_median"], row["pre_max"], row["crs_onset_median"]) == (2.44, 3.0, 10.0)
    assert (row["pre_below_lod"], row["crs_onset_below_lod"]) == (2, 1)
    assert (row["n_end"], row["end_median"]) == (1, 4.0)  # e's end-of-treatment draw is not in the population
    # two non-zero changes, both up: the exact P of n = 2 is 2 x 1/4
    assert row["p_value"] == pytest.approx(0.5) and tests["test_id"].to_list() == ["cytokine.il6"]


def test_icans_episodes_need_serum_before_and_at_onset_and_are_numbered_by_onset():
    ae = adverse_events([("a", 2, "icans", 3, 60), ("b", 1, "icans", 1, 5), ("c", 1, "icans", 2, 3),
                         ("d", 1, "icans", 0, 0)])
    rows = []
    for subject_id, cycle_no in (("a", 2), ("b", 1), ("d", 1)):
        rows += [lab(subject_id, "il8", 3.0, cycle_no=cycle_no, specimen="serum"),
                 lab(subject_id, "il8", 15.0, "icans_onset", cycle_no=cycle_no, specimen="serum")]
    rows += [lab("a", "il8", 800.0, "icans_onset", cycle_no=2, specimen="csf"),
             lab("a", "csf_wbc", 40.0, "icans_onset", cycle_no=2, specimen="csf"),
             lab("a", "il8", 7.0, cycle_no=1, specimen="serum"),  # another cycle's baseline
             lab("c", "il8", 4.0, specimen="serum")]  # no onset serum: not a Table 4 episode
    con = database(labs(rows), cycles([cycle(s) for s in "abcd"]), adverse_events=ae)
    per_center.create(con, cytokines.ICANS_EPISODE_DRAWS, cytokines.ICANS_DRAWS_SQL, cytokines.ICANS_CORE_TABLES,
                      {"study": shared.MULTICENTER})
    episodes = pl.DataFrame(con.sql(cytokines.ICANS_EPISODES_SQL))
    assert episodes.select("episode", "subject_id", "cycle_no", "analyte").rows() == [
        (1, "b", 1, "il8"), (2, "a", 2, "csf_wbc"), (2, "a", 2, "il8")]
    a = episodes.filter((pl.col("subject_id") == "a") & (pl.col("analyte") == "il8")).row(0, named=True)
    assert (a["serum_pre"], a["serum_onset"], a["csf_onset"], a["icans_grade"]) == (3.0, 15.0, 800.0, 3)
    assert episodes.filter(pl.col("subject_id") == "b")["csf_onset"].to_list() == [None]


# --- end to end on the demo warehouse ------------------------------------------------------------------------

MARTS = ("cytokines", "icans_cytokines", "paper_reproduction")


@pytest.fixture(scope="module")
def demo_warehouse(demo_build):
    assert not demo_build.failed & {f"marts/{mart}" for mart in MARTS}
    return demo_build.path


def test_every_cytokine_and_table4_reference_row_reproduces_on_the_demo_cohort(demo_warehouse):
    rows, tests = reproduced(demo_warehouse, ("cytokine.", "table4."))
    assert rows.filter(~pl.col("passed")).select("id", "statistic", "published_value", "computed_value").rows() == []
    assert set(rows.filter(pl.col("statistic") == "p_value")["id"]) <= set(tests["test_id"])
    assert set(tests["mart"]) == {"cytokines"}
    episodes = query(demo_warehouse, "SELECT DISTINCT episode FROM marts.icans_cytokines")
    assert episodes.height >= 4
    assert (demo_warehouse.parent / "figures" / "figure3_cytokines_crs.png").read_bytes()[:4] == b"\x89PNG"
