"""The blueprint of the demo cohort: which patients exist, in what numbers, and which values they share out.

Everything here is a published count of the multicenter paper (or forced by one, see
docs/published-results.md), written down once. `design.py` turns it into patients.

Two groupings of the 105 patients run through the paper:
* indication group (survival): rr 30, cr_mrdpos 30, cr_mrdneg 45;
* status at the first cycle (response, Tables 1-3): rr 11, cr_mrdpos 40, cr_mrdneg 54.
A *pathway* links them; an *outcome* is the response after cycle 1.
"""

# pathway: (indication_group, cycle1_status, bridging chemotherapy before cycle 1)
PATHWAYS = {
    "rr_direct": ("rr", "rr", False),
    "rr_bridging_failed": ("rr", "rr", True),
    "rr_bridged_to_mrdpos": ("rr", "cr_mrdpos", True),
    "rr_bridged_to_mrdneg": ("rr", "cr_mrdneg", True),
    "mrdpos": ("cr_mrdpos", "cr_mrdpos", False),
    "mrdneg": ("cr_mrdneg", "cr_mrdneg", False),
}

# (pathway, outcome after cycle 1, patients). Outcomes: `mrd_cr` MRD < 0.01 %; `cr` blasts < 5 % with MRD
# persisting (the one R/R responder who did not reach MRD negativity); `nr` no response.
OUTCOMES = [
    ("rr_direct", "mrd_cr", 5), ("rr_direct", "cr", 1), ("rr_direct", "nr", 2),
    ("rr_bridging_failed", "mrd_cr", 3),
    ("rr_bridged_to_mrdpos", "mrd_cr", 7), ("rr_bridged_to_mrdpos", "nr", 3),
    ("rr_bridged_to_mrdneg", "mrd_cr", 9),
    ("mrdpos", "mrd_cr", 26), ("mrdpos", "nr", 4),
    ("mrdneg", "mrd_cr", 45),
]

# Indications within the indication groups: R/R 23 relapse + 7 induction failure; CR-MRDpos 21 MRD-positive
# + 9 chemotherapy delay; CR-MRDneg all chemotherapy delay.
INDICATIONS = {
    "rr": {"relapse": 23, "induction_failure": 7},
    "cr_mrdpos": {"mrd_positive": 21, "chemo_delay": 9},
    "cr_mrdneg": {"chemo_delay": 45},
}
# A child this young (months) cannot have relapsed after frontline therapy: an R/R patient is an induction failure.
MIN_RELAPSE_AGE_MONTHS = 18

# Pools are keyed by the Table 2 / Table 1 column a patient falls in: `cr` and `nr` are the 51 R/R + CR-MRDpos
# patients by response after cycle 1 (42 / 9), `mrdneg` the 54 in CR-MRDneg at cycle 1.
# Ages (completed months at the first infusion). The medians interlock: 51 -> 69 (26th value), CR -> 72.5
# (69 and 76), NR -> 64, CR-MRDneg -> 73.5 (72 and 75), all 105 -> 72 (53rd value).
AGES = {
    "cr": [6, 14, 22, 27, 31, 35, 38, 41, 44, 47, 50, 52, 55, 57, 59, 61, 63, 65, 66, 68, 69,
           76, 79, 83, 88, 92, 97, 101, 106, 112, 118, 124, 131, 139, 146, 154, 163, 171, 180, 189, 198, 208],
    "nr": [5, 28, 41, 56, 64, 73, 98, 121, 152],
    "mrdneg": [5, 11, 17, 23, 28, 32, 36, 39, 42, 45, 47, 49, 51, 53, 55, 57, 59, 60, 62, 63, 65, 66, 67, 68,
               70, 71, 72, 75, 78, 81, 85, 89, 93, 97, 102, 107, 113, 119, 125, 130, 136, 142, 149, 155, 158,
               163, 168, 174, 181, 185, 192, 199, 205, 210],
}
SEXES = {"cr": {"M": 28, "F": 14}, "nr": {"M": 6, "F": 3}, "mrdneg": {"M": 30, "F": 24}}

# One defining lesion per patient (Table 1); 2 hypodiploid patients make Table 2's 15 poor-risk among the 51.
CYTOGENETICS = {
    "cr": {"bcr_abl1": 1, "kmt2ar": 5, "tcf3_hlf": 1, "hypodiploidy": 1, "etv6_runx1": 5, "tcf3_pbx1": 2,
           "znf384r": 2, "pax5r": 1, "other": 8, "none": 16},
    "nr": {"bcr_abl1": 4, "kmt2ar": 2, "hypodiploidy": 1, "other": 1, "none": 1},
    "mrdneg": {"bcr_abl1": 7, "kmt2ar": 4, "etv6_runx1": 16, "tcf3_pbx1": 2, "znf384r": 3, "pax5r": 1,
               "other": 6, "none": 15},
}
POOR_CYTOGENETICS = {"kmt2ar", "bcr_abl1", "tcf3_hlf", "hypodiploidy"}  # CCCG-ALL-2015, plus hypodiploidy

# Infusion length of cycle 1 among the 51: 31 on 14 days (26 CR), 20 on 21-28 days (16 CR).
REGIMENS = {"cr": {"14d": 26, "21_28d": 16}, "nr": {"14d": 5, "21_28d": 4}}

# Cyclophosphamide-containing bridging: 8 of the 22 bridged R/R patients, 7 of them responders.
CYCLOPHOSPHAMIDE_RESPONDERS = 7
CYCLOPHOSPHAMIDE_DOSES_MG_M2 = [1000, 1000, 1000, 1000, 1000, 300, 300, 300]

# Marrow before cycle 1 (Table 2). R/R pairs (blasts %, MRD %): 4 with blasts 5-9.5 %, 7 with >= 20 %; the
# 0.004 % MRD minimum is a flow/morphology-discordant R/R responder.
RR_MARROW = {
    "cr": [(5.5, 0.004), (6.0, 4.1), (8.0, 6.3), (9.5, 7.9), (22.0, 18.6), (35.0, 27.2), (47.0, 41.5),
           (61.0, 52.3), (80.0, 62.69)],
    "nr": [(28.0, 25.4), (63.0, 63.0)],
}
# CR-MRDpos (blasts < 5 %, MRD >= 0.01 %): CR blasts median 0 needs >= 22 zeros among the 42; with the R/R
# 0.004, the 21st and 22nd CR MRD values are 0.50 and 0.52 (median 0.51) and the 51's 26th is 0.52.
MRDPOS_BLASTS = {
    "cr": [0.0] * 25 + [0.5, 0.5, 1.0, 1.0, 1.5, 2.0, 3.0, 4.5],
    "nr": [0.0, 0.0, 0.5, 0.5, 1.0, 1.5, 3.0],
}
MRDPOS_MRD = {
    "cr": [0.011, 0.015, 0.02, 0.03, 0.04, 0.05, 0.07, 0.08, 0.1, 0.12, 0.15, 0.18, 0.21, 0.25, 0.28, 0.32,
           0.36, 0.4, 0.44, 0.5, 0.52, 0.6, 0.75, 0.9, 1.2, 1.5, 2.1, 2.8, 3.6, 4.9, 6.4, 8.7, 12.3],
    "nr": [0.012, 0.06, 0.21, 0.37, 0.98, 1.6, 4.3],
}

# ICANS (Table 3 and the age comparison): ages at the ICANS cycle 69 (a CR-MRDpos patient, grade 1-2) and
# 130, 158, 163, 185, 210 (CR-MRDneg: one grade 1-2, four grade 3-4); median 160.5.
ICANS_MRDNEG_BANDS = ["1_2", "3_4", "3_4", "3_4", "3_4"]

# Roles: the patients whose story the paper tells, with the attributes that story pins.
# (role, pathway, outcome, pinned attributes). Unpinned attributes are dealt from the pools above.
# Extra cycles (20 beyond the first): the 3 non-responders' second cycles and 17 cycles in MRD negativity. Ages of
# patients with extra cycles are pinned so that the non-ICANS cycles' median age is 73: exactly 7 extra cycles fall
# below 73 months (28, 32 x2, 45 x3, 50) and 13 above.
ROLES = [
    # the nine non-responders: 1 died, 2 HSCT, 3 second blinatumomab cycle, 3 continued chemotherapy
    ("nr_died", "rr_direct", "nr",
     dict(age_months=5, indication="induction_failure", cytogenetics="kmt2ar", regimen_c1="14d")),
    ("nr_blina2_car_t", "rr_direct", "nr", dict(age_months=28, regimen_c1="14d", n_cycles=2)),
    ("nr_hsct_died", "rr_bridged_to_mrdpos", "nr", dict(regimen_c1="14d")),
    ("nr_blina2_car_t", "rr_bridged_to_mrdpos", "nr", dict(age_months=98, regimen_c1="14d", n_cycles=2)),
    ("nr_hsct", "rr_bridged_to_mrdpos", "nr", dict(regimen_c1="14d", cyclophosphamide=True)),
    ("nr_blina2_hsct", "mrdpos", "nr", dict(age_months=152, regimen_c1="21_28d", n_cycles=2)),
    ("nr_chemo_lost", "mrdpos", "nr", dict(regimen_c1="21_28d")),
    ("nr_chemo", "mrdpos", "nr", dict(regimen_c1="21_28d")),
    ("nr_chemo", "mrdpos", "nr", dict(regimen_c1="21_28d")),
    ("rr_cr_mrd_persisting", "rr_direct", "cr", {}),
    # relapses: 2 early (CD19-negative, within a month), 1 at ~9 months, 1 CNS at 14 months
    ("early_relapse", "rr_direct", "mrd_cr", dict(regimen_c1="14d")),
    ("early_relapse_salvaged", "rr_bridged_to_mrdpos", "mrd_cr", dict(regimen_c1="14d")),
    # the ~9-month relapse had no cycle in MRD negativity: "of 74 CR-MRDneg courses, 73 remained MRD-negative"
    # leaves only the CNS relapse among patients with such cycles
    ("late_relapse", "rr_bridged_to_mrdpos", "mrd_cr", {}),
    ("cns_relapse", "mrdpos", "mrd_cr", dict(age_months=101, n_cycles=2)),
    ("aspergillosis_death", "mrdneg", "mrd_cr", {}),
    # ICANS
    ("icans", "mrdpos", "mrd_cr", dict(age_months=69, icans_band="1_2")),
    ("icans", "mrdneg", "mrd_cr", dict(age_months=130)),
    ("icans", "mrdneg", "mrd_cr", dict(age_months=158)),
    ("icans", "mrdneg", "mrd_cr", dict(age_months=163)),
    ("icans", "mrdneg", "mrd_cr", dict(age_months=185)),
    # 210 months at cycle 1 (ICANS), 212 at cycle 2: a 28-day first cycle started late in the birth month
    ("icans_oldest", "mrdneg", "mrd_cr", dict(age_months=210, regimen_c1="21_28d", infusion_days_c1=28,
                                              n_cycles=2)),
    # further cycles in MRD negativity
    ("more_cycles", "mrdneg", "mrd_cr", dict(age_months=45, n_cycles=4)),
    ("more_cycles", "rr_bridged_to_mrdneg", "mrd_cr", dict(age_months=32, n_cycles=3)),
    ("more_cycles", "mrdneg", "mrd_cr", dict(age_months=119, n_cycles=3)),
    ("more_cycles", "mrdpos", "mrd_cr", dict(age_months=50, n_cycles=2)),
    ("more_cycles", "rr_direct", "mrd_cr", dict(age_months=83, n_cycles=2)),
    ("more_cycles", "rr_bridging_failed", "mrd_cr", dict(age_months=112, n_cycles=2)),
    ("more_cycles", "mrdpos", "mrd_cr", dict(age_months=146, n_cycles=2)),
    ("more_cycles", "mrdneg", "mrd_cr", dict(age_months=78, n_cycles=2)),
    ("more_cycles", "mrdneg", "mrd_cr", dict(age_months=89, n_cycles=2)),
    ("more_cycles", "mrdneg", "mrd_cr", dict(age_months=102, n_cycles=2)),
    ("more_cycles", "mrdneg", "mrd_cr", dict(age_months=136, n_cycles=2)),
]

# Table 3, per cycle: term -> table3_group -> {grade band: cycles}; band None = not assessed (no blood count).
# ICANS comes from the ICANS roles above, TLS never occurred. Grade 3-4 CRS went to R/R patients only; the
# cycles without a platelet grade are among those without a neutrophil grade where both columns lack some.
TABLE3 = {
    "crs": {"mrdneg": {"0": 45, "1_2": 29}, "rr_mrdpos": {"0": 24, "1_2": 25, "3_4": 2}},
    "infection": {"mrdneg": {"0": 64, "1_3": 10}, "rr_mrdpos": {"0": 44, "1_3": 7}},
    "neutropenia": {"mrdneg": {"0": 41, "1_2": 9, "3_4": 24},
                    "rr_mrdpos": {None: 5, "0": 21, "1_2": 17, "3_4": 8}},
    "thrombocytopenia": {"mrdneg": {None: 2, "0": 71, "1_2": 1},
                         "rr_mrdpos": {None: 2, "0": 41, "1_2": 4, "3_4": 4}},
}

# Centers of the consortium and how many patients each enrolled.
CENTERS = {"sch": 36, "scmc": 29, "ach": 22, "sph": 18}
