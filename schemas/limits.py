"""Clinical limits in two tiers (docs/clinical-rules.md, "Plausibility: two tiers"; docs/data-quality.md).

HARD limits reject the impossible: a value outside them quarantines its row. SOFT limits mark the unusual:
children on leukemia therapy routinely sit far outside normal ranges, so a value outside them is a warning
that travels with the row. Every limit is in the warehouse's canonical unit (seeds/analytes.csv).
"""

from datetime import date

AGE_MONTHS_MAX = 215  # the consortium treats children: 0 to < 18 years, in completed months
# No delivered clinical date can precede this: the consortium's oldest possible patient was born after it.
EARLIEST_DATE = date(1990, 1, 1)
CYCLE_NO_MAX = 20
# A child's lines (blocks) of therapy other than blinatumomab: frontline blocks, relapse blocks, conditioning.
LINE_NO_MAX = 50
INFUSION_DAYS_MAX = 56  # the label's longest cycle is 28 days; twice that is a date error
INFUSION_DAYS_SOFT = (7, 28)

# Blinatumomab (clinical-rules.md, Dosing): 5 ug/m2/day on the first week of cycle 1, else 15 ug/m2/day; at
# >= 45 kg the flat adult doses 9 then 28 ug/day, which also cap the per-m2 dose.
DOSES_UG_M2_DAY = (5.0, 15.0)
FLAT_DOSE_CAP_UG_DAY = 28.0
FLAT_DOSE_WEIGHT_KG = 45.0
WEIGHT_KG_MAX = 150.0
BSA_M2_MAX = 2.5
CYCLOPHOSPHAMIDE_MG_M2_MAX = 3000.0

PERCENT = (0.0, 100.0)
# T + B + NK cells make up the lymphocytes: their percentages cannot sum far above 100.
SUBSET_PCT_SUM_MAX = 110.0

# analyte -> (hard_min, hard_max): a value must satisfy hard_min <= value <= hard_max (clinical-rules.md,
# hard limits; the CBC, hemoglobin and CSF ceilings are design choices of the same width).
LAB_HARD_LIMITS: dict[str, tuple[float, float]] = {
    "wbc": (0, 1000), "neutrophils": (0, 100), "lymphocytes": (0, 500), "platelets": (0, 2000),
    "hemoglobin": (0, 250),
    **{subset: (0, 50) for subset in ("cd3_abs", "cd4_abs", "cd8_abs", "nk_abs", "cd19_abs")},
    **{subset: (0, 100) for subset in ("cd3_pct", "cd4_pct", "cd8_pct", "nk_pct", "cd19_pct")},
    "igg": (0, 50), "iga": (0, 20), "igm": (0, 20),
    **{cytokine: (0, 100_000) for cytokine in ("il1b", "il2", "il4", "il5", "il6", "il8", "il10", "il12p70",
                                               "il17", "ifng", "tnfa", "ifna")},
    "csf_wbc": (0, 100_000), "csf_albumin": (0, 20_000),
}
# analyte -> soft ceiling: twice the upper normal limit of clinical-rules.md (subsets: Shearer 2003 at 6-11 y;
# immunoglobulins at 7-9 y). Only ceilings: low counts are expected on leukemia therapy (CD19 near zero is
# B-cell aplasia), and a floor would flag most of the cohort (the DQD platelet lesson).
LAB_SOFT_CEILINGS: dict[str, float] = {
    "cd3_abs": 5.2, "cd4_abs": 3.0, "cd8_abs": 2.2, "nk_abs": 0.96, "cd19_abs": 1.72,
    "igg": 29.4, "iga": 6.1, "igm": 4.16,
}
# Analytes counted in x10^9/L: a value 1000 times too high was delivered in cells/uL.
COUNT_ANALYTES = ("wbc", "neutrophils", "lymphocytes", "platelets", "cd3_abs", "cd4_abs", "cd8_abs", "nk_abs",
                  "cd19_abs")
# Immunoglobulins in g/L: a value 100 times too high was delivered in mg/dL.
IMMUNOGLOBULINS = ("igg", "iga", "igm")
