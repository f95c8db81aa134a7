"""`make bench-generator`: the scale generator's wall time and peak memory for N patients (default 1,000,000).

    .venv/bin/python tests/benchmarks/bench_generator.py [--patients N] [--centers M] [--out DIR]

Without --out the output goes to a temporary folder that is removed afterwards (1M patients: ~2.6 GB).

The generator runs as `python -m demo_cohort.scale` in a child process, so the wall time includes its start-up
and the peak resident set (getrusage RUSAGE_CHILDREN ru_maxrss) is the whole generator process: imports,
worker threads and chunks in flight. CPU time (user + system) is printed too: when other work shares the
machine, the wall time grows but the CPU time does not. Targets: 1,000,000 patients in < 60 s and < 2 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET_SECONDS, TARGET_GB = 60.0, 2.0


def run(patients: int, centers: int, out: Path) -> dict[str, float]:
    """Wall seconds, CPU seconds, peak RSS (GB) and GB written by one generator run."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "data")])}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "demo_cohort.scale", "--patients", str(patients),
                    "--centers", str(centers), "--out", str(out)], check=True, env=env, cwd=REPO)
    wall = time.perf_counter() - started
    child = resource.getrusage(resource.RUSAGE_CHILDREN)  # the only child: the generator
    return {"wall": wall, "cpu": child.ru_utime + child.ru_stime, "peak_gb": child.ru_maxrss / 1024 ** 2,  # KiB
            "written_gb": sum(f.stat().st_size for f in (out / "landing").rglob("*") if f.is_file()) / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--centers", type=int, default=8)
    parser.add_argument("--out", type=Path, help="keep the output here (default: a removed temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="blina_scale_") as scratch:
        args.out = args.out or Path(scratch)
        r = run(args.patients, args.centers, args.out)
    verdict = {True: "met", False: "MISSED"}
    print(f"patients: {args.patients:,} across {args.centers} centers, {r['written_gb']:.2f} GB written to {args.out}")
    print(f"wall time: {r['wall']:.1f} s (target < {TARGET_SECONDS:.0f} s: {verdict[r['wall'] < TARGET_SECONDS]}); "
          f"CPU time {r['cpu']:.1f} s on {os.cpu_count()} cores")
    print(f"peak memory: {r['peak_gb']:.2f} GB (target < {TARGET_GB:.0f} GB: {verdict[r['peak_gb'] < TARGET_GB]})")


if __name__ == "__main__":
    main()
