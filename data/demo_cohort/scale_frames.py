"""Vectorised synthesis of one chunk of a scaled cohort, as canonical contract frames (as in cohort.Cohort).

Statistically plausible, not calibrated: the shapes of the demo cohort (1-4 cycles a patient, a marrow before
and after each cycle, the demo's six solicited adverse-event terms per cycle, follow-up events, labs as in
scale_labs), about 59 raw rows a patient. Every column is built with numpy/polars over the whole chunk at once:
no per-patient Python loop.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from demo_cohort.design_cycles import TERMS
from demo_cohort.scale_columns import const, dates, draw, null_where, pick, repeat_rows
from demo_cohort.scale_labs import LAB_PLAN, synth_labs

EPOCH_2015 = 16436  # days from 1970-01-01 to 2015-01-01
# The extract's data cut-off (days from 1970-01-01 to 2025-12-31): follow-up ends there, so that no date is in
# the future of a run (the gate refuses those), whatever day the benchmark runs.
DATA_CUTOFF = 20453
FIRST_INFUSION_DAYS = (60, 400)  # after diagnosis, at least and under
CYCLE_LENGTHS, CYCLE_LENGTH_P = [14, 21, 28], [0.3, 0.2, 0.5]  # days
# Under 18 at the first infusion: the consortium's 215 completed months (schemas/limits.py, AGE_MONTHS_MAX; not
# imported, the schemas package loads pandera: 0.5 s) less the longest wait for the infusion.
AGE_LIMIT_MONTHS = 215
AGE_AT_DIAGNOSIS_MAX_DAYS = int(AGE_LIMIT_MONTHS * 365.25 / 12) - FIRST_INFUSION_DAYS[1]
# The last lab draw after the last cycle's end (the latest draw of the plan in the shortest cycle): a death comes
# after it, as the gate requires of every record.
LAST_DRAW_AFTER_END_DAYS = max(offset for _, offset, *_ in LAB_PLAN) - (min(CYCLE_LENGTHS) - 1)
INDICATIONS = ["relapse", "induction_failure", "mrd_positive", "chemo_delay"]
INDICATION_P = np.array([23, 7, 21, 54]) / 105  # the paper's cohort
CYTOGENETICS = ["none", "etv6_runx1", "tcf3_pbx1", "bcr_abl1", "kmt2ar", "bcr_abl1;ikzf1_deletion", "hypodiploidy",
                "other"]
CYTOGENETICS_P = [0.45, 0.2, 0.08, 0.08, 0.05, 0.04, 0.03, 0.07]
BCR_ABL1 = np.array(["bcr_abl1" in c for c in CYTOGENETICS])
CYCLES_P = [0.85, 0.10, 0.04, 0.01]  # 1..4 cycles: ~1.2 a patient, as in the paper (125 / 105)
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun"]
GIVEN = ["Hao", "Yu", "Xin", "Ming", "Jia", "Chen", "Yi", "Zi", "Rui", "An", "Mo", "Lan"]

NEG, POS, RR = 0, 1, 2  # disease state: CR-MRDneg, CR-MRDpos, R/R
# indication (INDICATIONS order) -> P(state before cycle 1): R/R patients may have had burden reduction first
FIRST_STATE_P = np.array([[9 / 30, 10 / 30, 11 / 30], [9 / 30, 10 / 30, 11 / 30], [0, 1, 0], [45 / 54, 9 / 54, 0]])
RESPONSE_P = np.array([[0.98, 0.02, 0], [0.85, 0.15, 0], [0.60, 0.22, 0.18]])  # state -> P(state after)

GRADE_P = {  # term -> P(grade 0..4)
    "crs": [0.55, 0.30, 0.10, 0.04, 0.01], "icans": [0.90, 0.05, 0.03, 0.015, 0.005],
    "infection": [0.70, 0.10, 0.15, 0.04, 0.01], "tls": [0.95, 0.03, 0.015, 0.005, 0],
    "neutropenia": [0.35, 0.10, 0.20, 0.20, 0.15], "thrombocytopenia": [0.50, 0.15, 0.15, 0.10, 0.10],
}
CYTOPENIAS = np.isin(TERMS, ["neutropenia", "thrombocytopenia"])
NOT_ASSESSED_P = 0.01  # no blood count in the cycle: blank cytopenia grades
HSCT_DETAIL = ["MSD HLA 10/10", "MUD HLA 9/10", "haploidentical HLA 5/10"]
EVENT_ORDER = {"hsct": 0, "relapse": 1, "death": 2, "last_contact": 3}  # order of same-day events


def synth_chunk(rng: np.random.Generator, first_patient: int, n: int, mrn_prefix: str, center_id: str,
                detection_limits: dict[str, float]) -> dict[str, pl.DataFrame]:
    """Canonical frames (contract fields + center_id), by table, of the center's patients numbered
    `first_patient` to `first_patient + n - 1`; `detection_limits` are the center's cytokine kit floors."""
    numbers = pl.Series(np.arange(first_patient, first_patient + n)).cast(pl.String).str.zfill(8)
    mrns = pl.select(pl.concat_str(pl.lit(mrn_prefix), numbers)).to_series().alias("mrn")
    diagnosis = EPOCH_2015 + rng.integers(0, 2900, n)
    age_days = np.clip(rng.lognormal(np.log(72 * 30.44), 0.6, n), 200,
                       AGE_AT_DIAGNOSIS_MAX_DAYS).astype(np.int64)  # median 72 months
    indication = rng.choice(len(INDICATIONS), size=n, p=INDICATION_P)
    cytogenetics = rng.choice(len(CYTOGENETICS), size=n, p=CYTOGENETICS_P)
    given = rng.integers(0, len(GIVEN), (2, n))
    patients = pl.DataFrame({
        "mrn": mrns,
        "name": pl.select(pl.concat_str(pick(SURNAMES, rng.integers(0, len(SURNAMES), n)), pl.lit(" "),
                                        pick(GIVEN, given[0]), pick(GIVEN, given[1]).str.to_lowercase())
                          ).to_series(),
        "birth_date": dates(diagnosis - age_days),
        "age_at_diagnosis_months": const(None, n, pl.Int64),  # birth dates are known
        "sex": pick(["F", "M"], rng.random(n) < 0.55),
        "diagnosis_date": dates(diagnosis),
        "indication": pick(INDICATIONS, indication),
        "cytogenetics": pick(CYTOGENETICS, cytogenetics),
        "protocol": const("CCCG-ALL-2015", n),
    })
    cyc = _cycle_plan(rng, diagnosis, age_days)
    frames = {
        "patients": patients,
        "cycles": _cycles(rng, mrns, cyc),
        "assessments": _assessments(rng, mrns, cyc, indication, BCR_ABL1[cytogenetics]),
        "labs": synth_labs(rng, mrns, cyc, detection_limits),
        "adverse_events": _adverse_events(rng, mrns, cyc),
        "events": _events(rng, mrns, cyc),
    }
    return {name: frame.insert_column(1, const(center_id, frame.height).alias("center_id"))
            for name, frame in frames.items()}


def _cycle_plan(rng: np.random.Generator, diagnosis: np.ndarray, age_days: np.ndarray) -> dict[str, np.ndarray]:
    """Per cycle, in patient order: patient index, cycle_no, start and end day, body size; 14 days off between
    cycles. `counts` is per patient."""
    counts = rng.choice(len(CYCLES_P), size=len(diagnosis), p=CYCLES_P) + 1
    patient, cycle_no = repeat_rows(counts)
    length = rng.choice(CYCLE_LENGTHS, size=len(patient), p=CYCLE_LENGTH_P)
    offset = np.cumsum(length + 14) - (length + 14)  # running over the chunk; made per patient below
    first_start = diagnosis + rng.integers(*FIRST_INFUSION_DAYS, len(diagnosis))
    start = first_start[patient] + offset - offset[np.cumsum(counts) - counts][patient]
    age_years = (age_days[patient] + start - first_start[patient]) / 365.25
    weight = np.round(np.clip(8 + 2.6 * age_years * rng.lognormal(0, 0.12, len(patient)), 7, 90), 1)
    height = np.clip(75 + 6.2 * age_years, 65, 185)
    return {"patient": patient, "cycle_no": cycle_no, "start": start, "end": start + length - 1,
            "counts": counts, "weight": weight, "bsa": np.round(np.sqrt(height * weight / 3600), 2)}  # Mosteller


def _cycles(rng: np.random.Generator, mrns: pl.Series, cyc: dict[str, np.ndarray]) -> pl.DataFrame:
    k = len(cyc["patient"])
    first = cyc["cycle_no"] == 1
    bridging = rng.random(k) < np.where(first, 0.3, 0.05)
    cyclophosphamide = bridging & (rng.random(k) < 0.5)
    return pl.DataFrame({
        "mrn": mrns.gather(cyc["patient"]),
        "cycle_no": cyc["cycle_no"],
        "start_date": dates(cyc["start"]),
        "end_date": dates(cyc["end"]),
        "infusion_days": const(None, k, pl.Int64),  # delivered only where the dates are missing
        "dose_start": np.where(first, 5.0, 15.0),  # ug/m2/day: cycle 1 steps up from 5 to 15
        "dose_target": np.full(k, 15.0),
        "dose_unit": const("ug/m2/day", k),
        "step_up_date": null_where(dates(cyc["start"] + 7), ~first),
        "weight_kg": cyc["weight"],
        "bsa_m2": cyc["bsa"],
        "bridging_chemo": pick(["N", "Y"], bridging),
        "cyclophosphamide": pick(["N", "Y"], cyclophosphamide),
        "cyclophosphamide_dose_mg_m2": null_where(pl.Series(np.where(rng.random(k) < 0.7, 1000.0, 300.0)),
                                                  ~cyclophosphamide),
    })


def _disease_states(rng: np.random.Generator, cyc: dict[str, np.ndarray],
                    indication: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """State before and after every cycle; a cycle starts in the state the previous one ended in."""
    before = np.empty(len(cyc["patient"]), dtype=np.int64)
    after = np.empty_like(before)
    for cycle_no in range(1, len(CYCLES_P) + 1):  # four passes, each over all cycles of that rank
        rows = np.flatnonzero(cyc["cycle_no"] == cycle_no)
        before[rows] = (draw(rng, FIRST_STATE_P[indication[cyc["patient"][rows]]]) if cycle_no == 1
                        else after[rows - 1])
        after[rows] = draw(rng, RESPONSE_P[before[rows]])
    return before, after


def _assessments(rng: np.random.Generator, mrns: pl.Series, cyc: dict[str, np.ndarray],
                 indication: np.ndarray, bcr_abl1: np.ndarray) -> pl.DataFrame:
    """A `pre_cycle` and an `end_of_cycle` marrow per cycle. Negative MRD is 0 or a number under the 0.01 %
    sensitivity, as in the demo; the writers print it as the center's YAML says (e.g. `<0.01`)."""
    before, after = _disease_states(rng, cyc, indication)
    rows = np.repeat(np.arange(len(before)), 2)
    is_pre = np.tile([True, False], len(before))
    state = np.where(is_pre, before[rows], after[rows])
    n = len(rows)
    negative = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.001, 0.009, n))
    mrd = np.select([state == RR, state == POS], [rng.uniform(1, 80, n), 10 ** rng.uniform(-2, 1, n)], negative)
    transcript = np.where(state == NEG, rng.uniform(0, 0.01, n), 10 ** rng.uniform(-2, 1, n)).round(4)
    return pl.DataFrame({
        "mrn": mrns.gather(cyc["patient"][rows]),
        "cycle_no": cyc["cycle_no"][rows],
        "timepoint": pick(["end_of_cycle", "pre_cycle"], is_pre),
        "assessment_date": dates(np.where(is_pre, cyc["start"][rows] - 3, cyc["end"][rows] + 1)),
        "bm_blasts_pct": np.where(state == RR, rng.uniform(5, 85, n), rng.uniform(0, 4.9, n)).round(1),
        "mrd_pct": mrd.round(3),
        "fusion_transcript_pct": null_where(pl.Series(transcript), ~bcr_abl1[cyc["patient"][rows]]),
    })


def _adverse_events(rng: np.random.Generator, mrns: pl.Series, cyc: dict[str, np.ndarray]) -> pl.DataFrame:
    """The demo's solicited terms for every cycle: grade 0 when absent, blank when not assessed."""
    cycle = np.repeat(np.arange(len(cyc["patient"])), len(TERMS))
    term = np.tile(np.arange(len(TERMS)), len(cyc["patient"]))
    grade = draw(rng, np.array([GRADE_P[t] for t in TERMS])[term])
    not_assessed = CYTOPENIAS[term] & (rng.random(len(term)) < NOT_ASSESSED_P)
    onset = dates(cyc["start"][cycle] + rng.integers(1, 12, len(term)))
    return pl.DataFrame({
        "mrn": mrns.gather(cyc["patient"][cycle]),
        "cycle_no": cyc["cycle_no"][cycle],
        "term": pick(TERMS, term),
        "grade": null_where(pl.Series(grade), not_assessed),
        "onset_date": null_where(onset, (grade == 0) | not_assessed),
        "description": const(None, len(term)),
    })


def _events(rng: np.random.Generator, mrns: pl.Series, cyc: dict[str, np.ndarray]) -> pl.DataFrame:
    """HSCT, relapse and death for some patients after their last cycle; one `last_contact` for all (the death
    date for the dead)."""
    last_end = cyc["end"][np.cumsum(cyc["counts"]) - 1]
    n = len(last_end)
    follow_up = np.minimum(last_end + rng.integers(180, 1800, n), DATA_CUTOFF)
    relapse = rng.random(n) < 0.08
    relapse_day = last_end + 1 + (rng.random(n) * (follow_up - last_end - 1)).astype(np.int64)
    death = rng.random(n) < np.where(relapse, 0.3, 0.01)
    alive_from = np.maximum(np.where(relapse, relapse_day, last_end), last_end + LAST_DRAW_AFTER_END_DAYS)
    death_day = alive_from + 1 + (rng.random(n) * (follow_up - alive_from - 1)).astype(np.int64)
    hsct_day = last_end + rng.integers(20, 60, n)
    hsct = (rng.random(n) < 0.35) & ~(death & (death_day <= hsct_day))
    parts = [
        _event_rows(mrns, hsct, "hsct", hsct_day, detail=pick(HSCT_DETAIL, rng.integers(0, len(HSCT_DETAIL), n))),
        _event_rows(mrns, relapse, "relapse", relapse_day,
                    relapse_site=pick(["bone_marrow", "cns", "combined"], rng.choice(3, n, p=[0.7, 0.2, 0.1])),
                    cd19_status=pick(["negative", "positive"], rng.random(n) < 0.8)),
        _event_rows(mrns, death, "death", death_day, death_cause=pick(["infection", "disease progression"], relapse)),
        _event_rows(mrns, np.ones(n, dtype=bool), "last_contact", np.where(death, death_day, follow_up)),
    ]
    return (pl.concat(parts, how="diagonal").sort("_patient", "event_date", "_order")
            .select("mrn", "event_type", "event_date", "relapse_site", "cd19_status", "death_cause", "detail"))


def _event_rows(mrns: pl.Series, mask: np.ndarray, event_type: str, day: np.ndarray,
                **text: pl.Series) -> pl.DataFrame:
    """Rows of one event type for the patients in `mask`; `text` holds per-patient text fields."""
    rows = np.flatnonzero(mask)
    return pl.DataFrame({
        "_patient": rows, "_order": np.full(len(rows), EVENT_ORDER[event_type]),
        "mrn": mrns.gather(rows), "event_type": const(event_type, len(rows)), "event_date": dates(day[rows]),
        **{field: text[field].gather(rows) if field in text else const(None, len(rows))
           for field in ("relapse_site", "cd19_status", "death_cause", "detail")},
    })
