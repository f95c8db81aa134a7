"""The consortium's two 12-cytokine kits: each center measures on one, whose floor (limit of detection) a value
at or under it is reported as. Table 4 shows the floors: cases 1-2 sit at 2.44 pg/mL, cases 3-4 at 0.32 pg/mL."""

KIT_FLOOR = {"sch": 2.44, "scmc": 2.44, "ach": 0.32, "sph": 0.32}  # pg/mL, per center
ICANS_CASE_FLOOR = {1: 2.44, 2: 2.44, 3: 0.32, 4: 0.32}  # pg/mL, per Table 4 case


def kit_centers(floor: float) -> set[str]:
    """Centers measuring on the kit with this floor."""
    return {center for center, f in KIT_FLOOR.items() if f == floor}
CYTOKINES = ("il1b", "il2", "il4", "il5", "il6", "il8", "il10", "il12p70", "il17", "ifng", "tnfa", "ifna")  # 12-plex
