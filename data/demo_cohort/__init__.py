"""Synthetic demo cohort calibrated to the multicenter blinatumomab paper (105 patients, 125 cycles, 4 centers).

Not a warehouse layer: it generates the canonical frames that the writers turn into center files under
data/landing/. Entry point: `demo_cohort.cohort.build_cohort(seed)`.
"""
