"""python -m demo_cohort --out data/landing [--seed N]: write the demo consortium's extracts.

Scale mode: python -m demo_cohort --patients 1000000 --centers 8 --out /tmp/blina_scale (demo_cohort.scale).

Every multicenter center YAML (data/centers, or BLINA_CENTERS_DIR) gets its folder under --out, written from
the calibrated demo cohort. The case series (study case_series) is hand-coded and never touched.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_SEED = 20250301


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(prog="python -m demo_cohort", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="drop-zone root (e.g. data/landing)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"cohort seed (default {DEFAULT_SEED})")
    parser.add_argument("--patients", type=int, help="scale mode, for benchmarks: N uncalibrated patients, with "
                        "their center YAMLs, under --out/centers and --out/landing (see demo_cohort.scale)")
    parser.add_argument("--centers", type=int, default=8, help="scale mode: number of centers (default 8)")
    args = parser.parse_args(argv)
    if args.patients is not None:
        from demo_cohort.scale import generate

        return generate(args.patients, args.centers, args.out, args.seed)

    from assets.landing.center_config import load_centers
    from demo_cohort.cohort import build_cohort
    from demo_cohort.writers import write_demo

    written = write_demo(build_cohort(args.seed), args.out, load_centers().values())
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
