"""Child process of bench_scale.py: the `warehouse` job exactly as `make run` runs it, with a resource profile.

    python tests/benchmarks/profile_run.py PROFILE_JSON

Per-step figures have to come from inside the process that runs the steps (the parent only sees the whole
process), so a sampler thread records every SAMPLE_S: wall time, CPU time (getrusage user + system: every
thread, DuckDB's included, plus reaped children), VmRSS, and VmHWM, the true peak since the previous sample
(after each reading, /proc/self/clear_refs resets it, so no short spike between samples is missed). The
steps' start and end times come from the run's own event log (STEP_START / STEP_SUCCESS / STEP_FAILURE in
the instance the run is recorded in: $DAGSTER_HOME's, as under `make run`, or in memory without it). Both go
to PROFILE_JSON with the `ready` mark, the end of start-up (imports and definitions); bench_scale.py turns
them into the per-step table. stdout is `make run`'s summary.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

SAMPLE_S = 0.05
STEP_EVENTS = {"STEP_START": "start", "STEP_SUCCESS": "end", "STEP_FAILURE": "end"}
CLEAR_REFS = Path("/proc/self/clear_refs")


class Sampler(threading.Thread):
    """(time, cpu seconds, VmRSS bytes, VmHWM bytes since the previous sample) every SAMPLE_S."""

    def __init__(self) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.samples: list[tuple[float, float, int, int]] = []
        self.resets_peak = os.access(CLEAR_REFS, os.W_OK)
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_S):
            self.sample()

    def sample(self) -> tuple[float, float, int, int]:
        with self._lock:
            own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
            rss, hwm = (int(status[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM"))  # kB
            if self.resets_peak:
                CLEAR_REFS.write_text("5")  # 5: reset the peak RSS to the current RSS
            sample = (time.time(), own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, rss, hwm)
            self.samples.append(sample)
            return sample

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


def step_times(instance, run_id: str) -> dict[str, dict[str, float]]:
    """Step key -> {"start": t, "end": t, "status": ...} from the run's event log (epoch seconds)."""
    steps: dict[str, dict] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.event_type_value not in STEP_EVENTS or not entry.step_key:
            continue
        step = steps.setdefault(entry.step_key, {})
        step[STEP_EVENTS[event.event_type_value]] = entry.timestamp
        if event.event_type_value != "STEP_START":
            step["status"] = "failed" if event.event_type_value == "STEP_FAILURE" else "succeeded"
    return steps


def main(profile_path: Path) -> int:
    sampler = Sampler()
    sampler.start()
    from assets.landing.store import utc_now
    from orchestration import run
    from orchestration.definitions import defs  # noqa: F401  (start-up: imports and definitions)

    ready, since = sampler.sample(), utc_now()
    with run.instance_of_run() as instance:  # recorded at $DAGSTER_HOME, as make run records it
        result = run.execute_warehouse(instance)
        steps = step_times(instance, result.run_id)
    ran = sampler.sample()
    run.print_summary(since, [e for e in result.get_asset_check_evaluations() if not e.passed])
    print(f"{'run succeeded' if result.success else 'RUN FAILED'}")
    sampler.stop()
    profile = {"success": result.success, "ready": ready, "ran": ran, "steps": steps,
               "samples": sampler.samples, "sample_s": SAMPLE_S, "resets_peak": sampler.resets_peak}
    profile_path.write_text(json.dumps(profile))
    return 0 if result.success else 1


if __name__ == "__main__":
    code = main(Path(sys.argv[1]))
    from orchestration import dbt_runner

    dbt_runner.release()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # as orchestration.run: skip duckdb's spurious teardown reports
