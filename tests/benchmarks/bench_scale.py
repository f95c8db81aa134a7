"""`make bench-scale [N=100000] [BAD=0]`: the whole warehouse on N generated patients, against the DuckDB floor.

    python tests/benchmarks/bench_scale.py [--patients N] [--centers 8] [--bad-rows F] [--scratch DIR] [--keep]

The figures issue 13's targets are judged by. In a fresh scratch folder (under /tmp or DIR; removed afterwards
unless --keep), each in a child process of its own:
  1. the scale generator writes N patients across the centers (its own wall time is printed too);
  2. the bare-DuckDB floor (landing_floor.py) loads the same files: wall time, CPU, peak RSS;
  3. the dbt project prepared (its manifest parsed, if the checkout has none yet or the project changed), as a
     deployment does once before any run (dagster-dbt's `prepare` step): printed apart, a nightly run never
     pays it;
  4. the `warehouse` job as `make run` runs it (profile_run.py), into an empty scratch warehouse:
     start-up, every asset step and the whole process, each with wall s, CPU s and peak RSS;
  5. the same again with nothing changed;
  6. the same again after one center re-delivered its largest file with one value corrected.
Then one summary block to paste into the README. Progress (the stage running, the time elapsed) is a tqdm line on
stderr when it is a terminal; the results go to stdout. Wall time depends on what else shares the two cores, so
CPU time and the load average are printed with it; quote medians of repeated runs. A step's peak RSS is the
process's while the step ran: memory an earlier step left allocated counts too. Never run by pytest.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GB = 1024 ** 3
# Before a step's name in the per-step table: it ran side by side with another (orchestration/jobs.py).
SIDE_BY_SIDE_MARK = "* "
# patients -> peak RSS target (GB); the time target is 3 x floor + 20 s at every size.
PEAK_TARGET_GB = {100_000: 3.0, 1_000_000: 6.0}
FLOOR_FACTOR, FLOOR_ALLOWANCE_S = 3.0, 20.0
UNCHANGED_TARGET, ONE_CENTER_TARGET = 0.10, 0.25  # of the full run's time beyond start-up


@dataclass
class Measured:
    """One child process: wall seconds, CPU seconds (user + system, its threads and children), peak RSS."""

    wall: float
    cpu: float
    peak: int  # bytes
    code: int
    started: float  # epoch seconds, just before the spawn


@dataclass
class Row:
    label: str
    wall: float
    cpu: float
    peak: int | None


def measure(command: list[str], env: dict[str, str], log: Path) -> Measured:
    """Run `command` (stdout and stderr to `log`); os.wait4 gives the child's own rusage."""
    started, clock = time.time(), time.perf_counter()
    with log.open("wb") as out:
        child = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return Measured(time.perf_counter() - clock, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024,
                    child.returncode, started)


def child_env(scratch: Path) -> dict[str, str]:
    """The environment `make` gives its commands, pointed at the scratch drop zone and warehouse."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "data")]),
           "BLINA_CENTERS_DIR": str(scratch / "centers"), "BLINA_LANDING_DIR": str(scratch / "landing"),
           "BLINA_WAREHOUSE_DIR": str(scratch / "warehouse"),
           # make run records its run in the Dagster instance at DAGSTER_HOME; the benchmark pays the same.
           "DAGSTER_HOME": str(scratch / "dagster_home")}
    env.setdefault("BLINA_PSEUDONYM_KEY", "demo")  # generated, synthetic patients
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as the Makefile: without bytecode caches start-up recompiles
    return env


@contextmanager
def progress(stages: int, file=sys.stderr, disable: bool | None = None) -> Iterator[Callable[[str], None]]:
    """A tqdm line for the benchmark's `stages`: yields stage(name), which counts the previous stage done and
    shows `name` as running. The line is redrawn each second (its elapsed time moves while a child process
    works; the parent only waits, so the children's figures are untouched). disable=None: only on a terminal."""
    with tqdm(total=stages, file=file, disable=disable, bar_format="bench-scale: {n}/{total} stages done, "
              "{elapsed} elapsed; {desc}") as bar:
        started = threading.Event()  # a stage is running: the first one counts nothing done before it
        stop = threading.Event()

        def stage(name: str) -> None:
            if started.is_set():
                bar.update()
            started.set()
            bar.set_description_str(f"{name} ...")

        ticker = threading.Thread(target=lambda: [bar.refresh() for _ in iter(lambda: stop.wait(1.0), True)],
                                  daemon=True)
        ticker.start()
        try:
            yield stage
            bar.update()
            bar.set_description_str("done")
        finally:
            stop.set()
            ticker.join()


def say(text: str = "") -> None:
    """A line of results on stdout, clear of the progress line."""
    tqdm.write(text, file=sys.stdout)


def fail(what: str, log: Path) -> None:
    tail = log.read_text(errors="replace")[-4000:]
    sys.exit(f"{what} failed (log {log}):\n{tail}")


# --- the generator and the floor ----------------------------------------------------------------------------

def generate(args: argparse.Namespace, scratch: Path) -> Measured:
    command = [sys.executable, "-m", "demo_cohort.scale", "--patients", str(args.patients), "--centers",
               str(args.centers), "--out", str(scratch), "--seed", str(args.seed)]
    if args.bad_rows:
        command += ["--bad-rows", str(args.bad_rows)]
    measured = measure(command, child_env(scratch), scratch / "generator.log")
    if measured.code:
        fail("the generator", scratch / "generator.log")
    return measured


def floor(scratch: Path) -> tuple[Measured, int]:
    """The floor's measurement and the delivered rows it loaded."""
    log = scratch / "floor.log"
    measured = measure([sys.executable, str(HERE / "landing_floor.py"), str(scratch / "landing"),
                        str(scratch / "floor.duckdb")], child_env(scratch), log)
    if measured.code:
        fail("the floor", log)
    (scratch / "floor.duckdb").unlink(missing_ok=True)
    return measured, int(log.read_text().split(",")[-1].split()[0])


def prepare(scratch: Path) -> Measured:
    """The dbt project's manifest, parsed where it is missing or older than the project (orchestration.dbt)."""
    log = scratch / "prepare.log"
    measured = measure([sys.executable, "-c", "from orchestration.dbt import dbt_project; dbt_project()"],
                       child_env(scratch), log)
    if measured.code:
        fail("preparing the dbt project", log)
    return measured


# --- a warehouse run ------------------------------------------------------------------------------------------

@dataclass
class RunProfile:
    measured: Measured
    rows: list[Row]  # start-up, the steps in order, the rest
    startup: float
    peak: int
    summary: list[str]  # the lines of make run's summary worth showing
    failed: bool

    @property
    def beyond_startup(self) -> float:
        return self.measured.wall - self.startup


def busy_spans(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of (start, end) intervals as disjoint spans, in order: the time some step ran (steps run side
    by side overlap)."""
    spans: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def warehouse_run(scratch: Path, number: int) -> RunProfile:
    log, profile_path = scratch / f"run{number}.log", scratch / f"run{number}.json"
    measured = measure([sys.executable, str(HERE / "profile_run.py"), str(profile_path)], child_env(scratch), log)
    if not profile_path.exists():
        fail(f"warehouse run {number}", log)
    profile = json.loads(profile_path.read_text())
    samples = profile["samples"]
    times, cpus = [s[0] for s in samples], [s[1] for s in samples]

    def cpu_at(t: float) -> float:
        """CPU seconds at time t, interpolated between samples."""
        i = bisect.bisect_left(times, t)
        if i == 0 or i == len(times):
            return cpus[min(i, len(times) - 1)]
        (t0, c0), (t1, c1) = (times[i - 1], cpus[i - 1]), (times[i], cpus[i])
        return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c1

    def peak_between(start: float, end: float) -> int:
        """The highest VmHWM sampled from start to one sample after end (each covers the preceding interval)."""
        inside = [s[3] for s in samples if start < s[0] <= end + profile["sample_s"]]
        return max(inside, default=0)

    ready_t, ready_cpu = profile["ready"][0], profile["ready"][1]
    rows = [Row("start-up (imports, definitions)", ready_t - measured.started, ready_cpu,
                max(s[3] for s in samples if s[0] <= ready_t))]
    timed = sorted(((step["start"], step["end"], key, step.get("status")) for key, step in profile["steps"].items()
                    if step.get("start") is not None and step.get("end") is not None))
    for start, end, key, status in timed:
        beside = any(other_start < end and start < other_end and other_key != key
                     for other_start, other_end, other_key, _ in timed)
        label = f"{SIDE_BY_SIDE_MARK if beside else ''}{key}{' (FAILED)' if status == 'failed' else ''}"
        rows.append(Row(label, end - start, cpu_at(end) - cpu_at(start), peak_between(start, end)))
    spans = busy_spans([(start, end) for start, end, _, _ in timed])
    in_steps = sum(end - start for start, end in spans), sum(cpu_at(end) - cpu_at(start) for start, end in spans)
    rows.append(Row("outside steps (run set-up, summary, exit)", measured.wall - rows[0].wall - in_steps[0],
                    measured.cpu - rows[0].cpu - in_steps[1], None))
    peak = max(max(s[3] for s in samples), 0 if profile["resets_peak"] else measured.peak)
    shown = ("files:", "  FAILED", "  CHECK FAILED", "  quarantine.", "patients:", "run succeeded", "RUN FAILED",
             "RUN INCOMPLETE")
    summary = [line for line in log.read_text(errors="replace").splitlines()
               if line.startswith(shown) or " - STEP_FAILURE - " in line]
    failed = bool(measured.code or not profile["success"])
    if failed:
        summary.append(f"(run {number} failed: its log {log} stays with --keep)")
    return RunProfile(measured, rows, rows[0].wall, peak, summary, failed)


def print_run(title: str, run: RunProfile) -> None:
    say(f"\n{title}: load average {os.getloadavg()[0]:.2f} at the end")
    width = max(len(r.label) for r in run.rows) + 2
    say(f"  {'step':<{width}}{'wall s':>9}{'CPU s':>9}{'peak RSS GB':>13}")
    for r in run.rows:
        peak = f"{r.peak / GB:>13.2f}" if r.peak is not None else f"{'':>13}"
        say(f"  {r.label:<{width}}{r.wall:>9.1f}{r.cpu:>9.1f}{peak}")
    m = run.measured
    say(f"  {'whole run':<{width}}{m.wall:>9.1f}{m.cpu:>9.1f}{run.peak / GB:>13.2f}")
    if any(r.label.startswith(SIDE_BY_SIDE_MARK) for r in run.rows):
        say(f"  ({SIDE_BY_SIDE_MARK.strip()} ran side by side with another step: its wall time overlaps theirs, and "
            "its CPU time is the process's over that time, theirs included)")
    for line in run.summary:
        say(f"  | {line}")


# --- one center re-delivers -----------------------------------------------------------------------------------

def change_one_value(scratch: Path, center_id: str) -> str:
    """Rewrite the center's largest file with one number of one row changed (a corrected re-delivery).

    Streamed line by line, in the file's own encoding and delimiter, so that the rest stays byte-identical.
    """
    config = yaml.safe_load((scratch / "centers" / f"{center_id}.yaml").read_text(encoding="utf-8"))
    folder = scratch / "landing" / center_id
    path = max((p for p in folder.iterdir() if p.suffix == ".csv"), key=lambda p: p.stat().st_size)
    defaults = config.get("defaults", {})
    table = next(t for t in config["tables"].values() if t["file"] == path.name)
    encoding = table.get("encoding", defaults.get("encoding", "utf-8"))
    delimiter = table.get("delimiter", defaults.get("delimiter", ","))
    measures = ([table["columns"]["value"]] if table.get("layout", "long") == "long"
                else list(table.get("analytes", {}).values()))
    temporary = path.with_suffix(".changing")
    changed = ""
    with path.open("rb") as source, temporary.open("wb") as target:
        header = source.readline().decode(encoding).rstrip("\n").split(delimiter)
        columns = [header.index(h) for h in measures if h in header]
        target.write(delimiter.join(header).encode(encoding) + b"\n")
        for number, line in enumerate(source, start=1):
            if not changed:
                cells = line.decode(encoding).rstrip("\n").split(delimiter)
                for column in columns:
                    if _is_number(cells[column]):
                        old = cells[column]
                        cells[column] = _corrected(old)
                        changed = f"{path.name} row {number}, {header[column]!r}: {old} -> {cells[column]}"
                        line = (delimiter.join(cells) + "\n").encode(encoding)
                        break
            target.write(line)
    if not changed:
        temporary.unlink()
        sys.exit(f"no plain number to change in {path}")
    os.replace(temporary, path)
    return f"{center_id}/{changed}"


def _is_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _corrected(text: str) -> str:
    """The value 10 % higher, printed as the generator prints numbers (no trailing zeros)."""
    return f"{float(text) * 1.1:.4f}".rstrip("0").rstrip(".")


# --- report ---------------------------------------------------------------------------------------------------

def peak_target(patients: int) -> tuple[float, int]:
    """The peak RSS target of the nearest size the issue sets one for (GB, that size)."""
    size = min(PEAK_TARGET_GB, key=lambda s: abs(s - patients))
    return PEAK_TARGET_GB[size], size


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def machine() -> str:
    total = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                 if line.startswith("MemTotal")) * 1024
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip() or "?"
    return f"{os.cpu_count()} cores, {total / GB:.0f} GB, commit {commit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--centers", type=int, default=8)
    parser.add_argument("--bad-rows", type=float, default=0.0, help="fraction of bad delivered rows (e.g. 0.01)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scratch", type=Path, help="make the scratch folder under DIR (default: the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (deliveries, warehouse, logs)")
    parser.add_argument("--change-center", default="scale_001", help="the center that re-delivers (run 3)")
    args = parser.parse_args(argv)
    if args.scratch:
        args.scratch.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="blina_bench_", dir=args.scratch))
    load, measured = os.getloadavg(), machine()  # the code measured: the commit as the benchmark starts
    print(f"bench-scale {datetime.now():%Y-%m-%d %H:%M}: {args.patients:,} patients across {args.centers} centers"
          f"{f', {args.bad_rows:g} bad rows' if args.bad_rows else ''}; {measured}; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start; scratch {scratch}")
    try:
        return report(args, scratch, f"{measured}; load average {load[0]:.2f} at start")
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def report(args: argparse.Namespace, scratch: Path, setting: str) -> int:
    with progress(6) as stage:
        stage(f"the generator: {args.patients:,} patients")
        gen = generate(args, scratch)
        written = sum(f.stat().st_size for f in (scratch / "landing").rglob("*.csv"))
        say(f"\ngenerator: {gen.wall:.1f} s wall, {gen.cpu:.1f} s CPU, peak {gen.peak / GB:.2f} GB; "
            f"{written / 1e9:.2f} GB of CSV")
        stage("the bare-DuckDB floor")
        base, rows = floor(scratch)
        say(f"floor (every CSV as text into DuckDB, one SELECT DISTINCT each): {rows / 1e6:.2f} M rows, "
            f"{base.wall:.1f} s wall, {base.cpu:.1f} s CPU, peak {base.peak / GB:.2f} GB")

        stage("the dbt project prepared")
        prepared = prepare(scratch)
        say(f"dbt project prepared (its manifest, as a deployment parses it once): {prepared.wall:.1f} s wall")
        stage("run 1, every file new")
        full = warehouse_run(scratch, 1)
        print_run("run 1, every file new (empty warehouse)", full)
        stage("run 2, nothing changed")
        unchanged = warehouse_run(scratch, 2)
        print_run("run 2, nothing changed", unchanged)
        change = change_one_value(scratch, args.change_center)
        say(f"\nchanged: {change}")
        stage("run 3, one center's file changed")
        one_center = warehouse_run(scratch, 3)
        print_run("run 3, one center's file changed", one_center)

    budget = FLOOR_FACTOR * base.wall + FLOOR_ALLOWANCE_S
    peak_gb, size = peak_target(args.patients)
    share = [r.beyond_startup / full.beyond_startup for r in (unchanged, one_center)]
    failed = ["full run"] * full.failed + ["nothing changed"] * unchanged.failed + ["one center"] * one_center.failed
    lines = [
        f"Scale benchmark, `make bench-scale N={args.patients}"
        f"{f' BAD={args.bad_rows:g}' if args.bad_rows else ''}` ({datetime.now():%Y-%m-%d}; {setting}). "
        f"{args.patients:,} patients, {args.centers} centers, "
        f"{rows / 1e6:.2f} M delivered rows ({written / 1e9:.2f} GB of CSV).",
        "",
        "| | wall s | CPU s | peak RSS GB | target |",
        "| --- | --- | --- | --- | --- |",
        f"| generator | {gen.wall:.1f} | {gen.cpu:.1f} | {gen.peak / GB:.2f} | |",
        f"| bare-DuckDB floor | {base.wall:.1f} | {base.cpu:.1f} | {base.peak / GB:.2f} | |",
        f"| dbt project prepared (once per deployment, not per run) | {prepared.wall:.1f} | {prepared.cpu:.1f} | "
        f"{prepared.peak / GB:.2f} | |",
        f"| full run (start-up {full.startup:.1f} s) | {full.measured.wall:.1f} | {full.measured.cpu:.1f} | "
        f"{full.peak / GB:.2f} | {full.measured.wall / base.wall:.1f} x floor (CPU time: "
        f"{full.measured.cpu / base.cpu:.1f} x); <= 3 x floor + 20 s = {budget:.0f} s: "
        f"{verdict(full.measured.wall <= budget)}; < {peak_gb:g} GB"
        f"{'' if size == args.patients else f' (the {size:,} target)'}: {verdict(full.peak / GB < peak_gb)} |",
        f"| nothing changed | {unchanged.measured.wall:.1f} | {unchanged.measured.cpu:.1f} | "
        f"{unchanged.peak / GB:.2f} | {share[0]:.0%} of the full run beyond start-up ({unchanged.beyond_startup:.1f}"
        f" / {full.beyond_startup:.1f} s); < 10 %: {verdict(share[0] < UNCHANGED_TARGET)} |",
        f"| one center's file changed | {one_center.measured.wall:.1f} | {one_center.measured.cpu:.1f} | "
        f"{one_center.peak / GB:.2f} | {share[1]:.0%} of the full run beyond start-up "
        f"({one_center.beyond_startup:.1f} / {full.beyond_startup:.1f} s); < 25 %: "
        f"{verdict(share[1] < ONE_CENTER_TARGET)} |",
    ]
    if failed:
        lines += ["", f"RUN FAILED: {', '.join(failed)} (the figures are those of a run that stopped)."]
    print("\n--- summary (for the README) ---\n" + "\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
