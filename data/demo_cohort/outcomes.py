"""Follow-up events of the demo cohort (contract table `events`), from each patient's role.

Survival runs from the first infusion. Within the first year the events are exactly the paper's: 4 relapses
(3 R/R, 1 CR-MRDpos: 2 CD19-negative marrow relapses within a month, a marrow relapse at ~9 months, a CNS
relapse at 14 months, the last outside the first year), 3 deaths (2 R/R non-reachers, 1 CR-MRDneg
aspergillosis), and one CR-MRDpos non-responder lost to follow-up at ~7 months, between the two R/R deaths.
Everyone else is followed more than a year. A non-responder's failure (an EFS event) is not a follow-up event:
the warehouse derives it from the end-of-cycle-1 marrow.

Three R/R patients alive at one year die later (`LATE_DEATH_ROLES`): the paper's 1-year figures cannot see
them, but its OS log-rank P-values (R/R vs not 0.009, three groups 0.029) need them; with only the three
first-year deaths those P-values sit near 0.3.
"""
import datetime as dt

import polars as pl

FOLLOW_UP_END = dt.date(2025, 3, 31)
MIN_FOLLOW_UP_DAYS = 380  # everyone not lost or dead is seen more than a year after the first infusion
SCHEMA = {"mrn": pl.Utf8, "event_type": pl.Utf8, "event_date": pl.Date, "relapse_site": pl.Utf8,
          "cd19_status": pl.Utf8, "death_cause": pl.Utf8, "detail": pl.Utf8, "center_id": pl.Utf8}
HSCT_DONORS = ["haploidentical donor", "matched sibling donor, HLA 10/10", "matched unrelated donor, HLA 10/10",
               "unrelated donor, HLA 9/10", "unrelated cord blood, HLA 6/8"]
# Share of the other responders bridged to transplant, by indication group.
HSCT_SHARE = {"rr": 0.7, "cr_mrdpos": 0.4, "cr_mrdneg": 0.1}
LATE_DEATH_ROLES = {"nr_hsct": "transplant-related mortality (chronic GVHD)",
                    "rr_cr_mrd_persisting": "transplant-related mortality (infection)",
                    "early_relapse": "progressive CD19-negative leukemia"}
# Roles whose story the paper tells: no transplant is added to them at random.
NO_RANDOM_HSCT_ROLES = {"nr_died", "nr_blina2_car_t", "nr_chemo", "nr_chemo_lost", "cns_relapse",
                        "aspergillosis_death", "early_relapse"}


def build_events(design: pl.DataFrame, design_cycles: pl.DataFrame, rng) -> pl.DataFrame:
    last_end = dict(design_cycles.group_by("mrn").agg(pl.col("end_date").max()).iter_rows())
    rows = []
    for patient in design.iter_rows(named=True):
        story = _story(patient, last_end[patient["mrn"]], rng)
        rows += [{**event, "mrn": patient["mrn"], "center_id": patient["center_id"]} for event in story]
    return pl.DataFrame([{k: r.get(k) for k in SCHEMA} for r in rows], schema=SCHEMA, orient="row")


def _after(day: dt.date, rng, low: int, high: int) -> dt.date:
    return day + dt.timedelta(days=int(rng.integers(low, high + 1)))


def _hsct(day: dt.date, rng) -> dict:
    return {"event_type": "hsct", "event_date": day, "detail": str(rng.choice(HSCT_DONORS))}


def _death(day: dt.date, cause: str) -> dict:
    return {"event_type": "death", "event_date": day, "death_cause": cause}


def _relapse(day: dt.date, site: str, cd19: str) -> dict:
    return {"event_type": "relapse", "event_date": day, "relapse_site": site, "cd19_status": cd19}


def _story(patient: dict, last_end: dt.date, rng) -> list[dict]:
    """The patient's events in date order, ending with exactly one last_contact."""
    t0, role = patient["first_infusion_date"], patient["role"]
    events = []
    if role == "nr_died":
        events.append(_death(_after(last_end, rng, 45, 75), "progressive leukemia after discontinuing treatment"))
    elif role == "nr_hsct_died":
        events += [_hsct(_after(last_end, rng, 50, 80), rng),
                   _death(_after(t0, rng, 285, 330), "transplant-related mortality (acute GVHD)")]
    elif role == "nr_blina2_car_t":
        events.append({"event_type": "car_t", "event_date": _after(last_end, rng, 25, 50),
                       "detail": "autologous CD19 CAR-T"})
    elif role in ("early_relapse", "early_relapse_salvaged"):
        events.append(_relapse(_after(t0, rng, 24, 29), "bone_marrow", "negative"))
        if role == "early_relapse_salvaged":
            events.append(_hsct(_after(events[-1]["event_date"], rng, 60, 100), rng))
    elif role == "late_relapse":
        events += [_hsct(_after(last_end, rng, 40, 80), rng),
                   _relapse(_after(t0, rng, 265, 285), "bone_marrow", "positive")]
    elif role == "cns_relapse":
        events.append(_relapse(_after(t0, rng, 420, 435), "cns", "positive"))
    elif role == "aspergillosis_death":
        events.append(_death(_after(t0, rng, 250, 330), "CNS invasive aspergillosis"))
    elif role in ("nr_blina2_hsct", "nr_hsct", "rr_cr_mrd_persisting"):
        events.append(_hsct(_after(last_end, rng, 40, 80), rng))
    elif role not in NO_RANDOM_HSCT_ROLES and rng.random() < HSCT_SHARE[patient["indication_group"]]:
        events.append(_hsct(_after(last_end, rng, 30, 90), rng))
    if role in LATE_DEATH_ROLES:
        events.append(_death(_after(t0, rng, 400, 480), LATE_DEATH_ROLES[role]))
    return events + [{"event_type": "last_contact", "event_date": _last_contact(events, t0, role, rng)}]


def _last_contact(events: list[dict], t0: dt.date, role: str, rng) -> dt.date:
    deaths = [e["event_date"] for e in events if e["event_type"] == "death"]
    if deaths:
        return deaths[0]
    if role == "nr_chemo_lost":
        return _after(t0, rng, 200, 215)
    earliest = max([t0 + dt.timedelta(days=MIN_FOLLOW_UP_DAYS)]
                   + [e["event_date"] + dt.timedelta(days=30) for e in events])
    return _after(earliest, rng, 0, (FOLLOW_UP_END - earliest).days)
