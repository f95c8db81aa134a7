"""The bad inputs of issue 4, one center each (tests/validation/centers.py), with what the warehouse must
report for them: the files it rejects whole, and per table the rows it quarantines with a phrase of the reason.
"""

from dataclasses import dataclass, field

from assets.landing.contract import TABLE_FIELDS
from tests.validation.centers import CLEAN, FILES, added, changed, changed_rows, csv_text

ALL_ROWS = {table: set(range(1, len(rows) + 1)) for table, rows in CLEAN.items()}
ORPHANED_BY_P2 = {"cycles": {3}, "assessments": {5, 6}, "labs": {6}, "adverse_events": {4, 5}, "events": {2, 3},
                  "therapy_lines": {3}}


@dataclass(frozen=True)
class Case:
    files: dict[str, bytes]
    rejected: dict[str, str] = field(default_factory=dict)  # file -> phrase of the load failure
    refused: dict[str, tuple[set[int], str]] = field(default_factory=dict)  # table -> (source rows, phrase)
    load_message: dict[str, str] = field(default_factory=dict)  # file -> phrase of a successful load's note
    settings: dict[str, dict] = field(default_factory=dict)  # table -> extra keys of its YAML entry


def _without(table: str, column: str) -> dict[str, bytes]:
    fields = [name for name in TABLE_FIELDS[table] if name != column]
    rows = [{k: v for k, v in row.items() if k != column} for row in CLEAN[table]]
    return {FILES[table]: csv_text(rows, fields).encode()}


def _gbk_patients() -> dict[str, bytes]:
    rows = [{**row, "name": "张三"} for row in CLEAN["patients"]]
    return {FILES["patients"]: csv_text(rows, TABLE_FIELDS["patients"]).encode("gbk")}


def _truncated_labs() -> dict[str, bytes]:
    text = csv_text(CLEAN["labs"], TABLE_FIELDS["labs"])
    return {FILES["labs"]: text[: text.rstrip("\n").rfind(",", 0, len(text) - 15)].encode()}


def _extra_column() -> dict[str, bytes]:
    rows = [{**row, "blood_group": "A+"} for row in CLEAN["patients"]]
    return {FILES["patients"]: csv_text(rows, [*TABLE_FIELDS["patients"], "blood_group"]).encode()}


CASES = {
    "enc": Case(_gbk_patients(), rejected={"patients.csv": "utf-8"},
                refused={table: (rows, "its patient is not in core") for table, rows in ALL_ROWS.items()
                         if table != "patients"}),
    "nocol": Case(_without("cycles", "start_date"), rejected={"cycles.csv": "start_date"},
                  refused={"assessments": (ALL_ROWS["assessments"], "not in core"),
                           "labs": (ALL_ROWS["labs"], "not in core"),
                           "adverse_events": (ALL_ROWS["adverse_events"], "not in core")}),
    "extra": Case(_extra_column(), load_message={"patients.csv": "blood_group"}),
    "empty": Case({FILES["events"]: b""}, rejected={"events.csv": "empty"}),
    "trunc": Case(_truncated_labs(), rejected={"labs.csv": "row 6"}),
    "dupe": Case(added("patients", dict(CLEAN["patients"][0]), {**CLEAN["patients"][1], "sex": "M"}),
                 refused={"patients": ({2, 3, 4}, "patients.csv row"), **{
                     table: (rows, "its patient is not in core") for table, rows in ORPHANED_BY_P2.items()}}),
    "cellsul": Case(changed("labs", 0, value="1200"),
                    refused={"labs": ({1}, "looks like cells/uL delivered as x10^9/L")}),
    "mrd": Case(changed("assessments", 0, mrd_pct="120"), refused={"assessments": ({1}, "MRD 120 %")}),
    "negative": Case(changed("labs", 1, value="-5"), refused={"labs": ({2}, "platelets -5")}),
    "text": Case({**changed("cycles", 1, weight_kg="1,5"),
                  **changed_rows("adverse_events", {2: {"grade": "<0.01"}, 3: {"grade": "ND"}})},
                 refused={"cycles": ({2}, "'1,5' is not a number: a decimal comma"),
                          "assessments": ({3, 4}, "cycle 2 of this subject is not in core"),
                          "adverse_events": ({3, 4}, "is not a whole number")}),
    "dates": Case({**changed("cycles", 2, end_date="2021-06-31"), **changed("events", 0, event_date="2099-01-01")},
                  refused={"cycles": ({3}, "'2021-06-31' is not a real date"),
                           "assessments": ({5, 6}, "not in core"), "labs": ({6}, "not in core"),
                           "adverse_events": ({4, 5}, "not in core"), "events": ({1}, "is in the future")}),
    "early": Case(changed("assessments", 1, assessment_date="2021-02-20"),
                  refused={"assessments": ({2}, "before cycle 1 started on 2021-03-01")}),
    "death": Case(added("events", {"mrn": "P1", "event_type": "death", "event_date": "2021-09-01"},
                        {"mrn": "P1", "event_type": "hsct", "event_date": "2021-10-01"}),
                  refused={"events": ({1, 5}, "after the subject's death on 2021-09-01")}),
    "code": Case({**changed("patients", 0, indication="relapsed"), **changed("events", 1, relapse_site="marrow")},
                 refused={"patients": ({1}, "indication 'relapsed' is not a contract code"),
                          "events": ({1, 2}, ""), **{
                              table: ({row for row in rows if row <= {"cycles": 2, "assessments": 4, "labs": 5,
                                                                      "adverse_events": 3, "therapy_lines": 2}[table]},
                                      "its patient is not in core")
                              for table, rows in ALL_ROWS.items() if table not in ("patients", "events")}}),
    "grade": Case(changed("adverse_events", 1, grade="7"), refused={"adverse_events": ({2}, "grade 7")}),
    # A therapy line that ends before it starts, and one whose phase is not a contract code.
    "lines": Case(changed_rows("therapy_lines", {1: {"end_date": "2021-01-01"}, 2: {"phase": "induction"}}),
                  refused={"therapy_lines": ({2, 3}, "Therapy line ")}),
    # A cycle delivered twice: the exact copy is refused and the first kept; copies that disagree are both
    # refused, with everything of that cycle. No dbt test fails the run for it.
    "cycdupe": Case(added("cycles", dict(CLEAN["cycles"][0])), refused={"cycles": ({4}, "repeats cycles.csv row 1")}),
    "cycconflict": Case(added("cycles", {**CLEAN["cycles"][2], "weight_kg": "19"}),
                        refused={"cycles": ({3, 4}, "delivered 2 times with different values"),
                                 "assessments": ({5, 6}, "cycle 1 of this subject is not in core"),
                                 "labs": ({6}, "cycle 1 of this subject is not in core"),
                                 "adverse_events": ({4, 5}, "cycle 1 of this subject is not in core")}),
    # As a sheet shows percentages: accepted where the measure is a percentage, refused elsewhere.
    "pctsign": Case({**changed_rows("labs", {0: {"value": "1.2%"}, 2: {"value": "70.7%"}}),
                     **changed("assessments", 0, mrd_pct="9.5 %")},
                    refused={"labs": ({1}, "'1.2%' is neither a number nor a detection marker (<x, >x, ND): a percent"
                                           " sign, but this measure is not a percentage")}),
    "alias": Case(changed("labs", 0, unit="10^3/uL"), settings={"labs": {"unit_aliases": {"10^3/uL": "x10^9/L"}}}),
}
