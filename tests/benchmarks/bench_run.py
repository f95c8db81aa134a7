"""`make bench`: time `make run` (a fresh process running orchestration.run) on the demo extracts.

Into a scratch warehouse: a warm-up run (not timed) leaves dbt's parse cache for the scratch path, as the
project's parse leaves it for warehouse/ (dbt keys partial parsing to the profile, which holds the path);
then the warehouse file is removed and two runs are timed: the first lands everything into an empty
warehouse, the second finds every file unchanged. Budget: under 20 s each on the 2-core reference
machine. Not collected by pytest (no test_ prefix).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 20.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def timed_run(env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestration.run"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"orchestration.run failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    return elapsed, done.stdout


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        warehouse = Path(scratch) / "warehouse"
        env = {**os.environ, "BLINA_WAREHOUSE_DIR": str(warehouse),
               "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{PROJECT_ROOT / 'data'}"}
        timed_run(env)  # warm-up
        for built in warehouse.glob("*.duckdb"):
            built.unlink()
        timings = []
        for label in ("first load", "same files again"):
            elapsed, output = timed_run(env)
            timings.append(elapsed)
            print(f"--- {label}: {elapsed:.1f} s\n{output}")
    verdict = "within" if max(timings) < BUDGET_S else "OVER"
    print(f"make run: {timings[0]:.1f} s first load, {timings[1]:.1f} s again ({verdict} the {BUDGET_S:.0f} s budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
