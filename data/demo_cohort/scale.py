"""Scale mode: N synthetic patients across M centers, streamed to disk in bounded memory, for benchmarks.

    python -m demo_cohort.scale --patients 1000000 --centers 8 [--out /tmp/blina_scale] [--seed 7] [--bad-rows 0.01]
    (or python -m demo_cohort --patients 1000000 --centers 8 --out /tmp/blina_scale)

Writes <out>/centers/scale_001.yaml ... (copies of the CSV-style demo centers sch, ach and sph, in turn, under
new ids) and <out>/landing/scale_001/... (their delivered files), so that the landing layer reads the output
with BLINA_CENTERS_DIR=<out>/centers BLINA_LANDING_DIR=<out>/landing. Scaled output is never committed.

Patients are synthesised in chunks of at most `chunk_patients` (scale_frames.synth_chunk, vectorised), turned
into the center's files by the demo writers (demo_cohort.writers.deliver_table/as_text) and appended to files
held open, then freed: memory depends on the chunk size and WORKERS, not on N. Chunk k draws from the k-th
child of SeedSequence(seed) and chunks are written in order, so a seed, N, M and chunk size give the same bytes
every run. Measured by tests/benchmarks/bench_generator.py.

--bad-rows FRACTION makes about that fraction of every table's delivered rows bad, as hospitals get them wrong
(demo_cohort.scale_bad), from a second series of child seeds: 0 (the default) leaves the bytes unchanged.

XLSX centers (scmc) are not scaled: a worksheet holds at most 1,048,576 rows, fewer than one center's labs.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl
import yaml

from assets.landing.center_config import REPO_ROOT, CenterConfig, TableConfig, load_center
from demo_cohort.scale_bad import spoil
from demo_cohort.scale_frames import synth_chunk
from demo_cohort.writers import as_text, deliver_table

STYLES = ("sch", "ach", "sph")  # the CSV-style demo centers (data/centers) that scaled centers copy, in turn
DEFAULT_OUT = Path("/tmp/blina_scale")
CHUNK_PATIENTS = 25_000
WORKERS = 2  # chunks rendered at once: one per core of the benchmark machine
SCALED_ID = re.compile(r"scale_\d{3,}(\.yaml)?")


@dataclass(frozen=True)
class Chunk:
    index: int  # position in the run: picks the chunk's child seed
    center: int  # 0-based center number
    first_patient: int  # within the center
    patients: int


def plan_chunks(patients: int, centers: int, chunk_patients: int = CHUNK_PATIENTS) -> list[Chunk]:
    """Centers get N // M patients each (the first N % M one more), cut into chunks of at most chunk_patients."""
    per_center = [patients // centers + (c < patients % centers) for c in range(centers)]
    starts = [(c, first) for c, size in enumerate(per_center) for first in range(0, size, chunk_patients)]
    return [Chunk(k, c, first, min(chunk_patients, per_center[c] - first)) for k, (c, first) in enumerate(starts)]


def scaled_centers(centers: int, out: Path) -> list[CenterConfig]:
    """Center YAMLs scale_001 ... written under out/centers, copying the CSV styles in turn."""
    folder = out / "centers"
    folder.mkdir(parents=True, exist_ok=True)
    configs = []
    for number in range(1, centers + 1):
        style = STYLES[(number - 1) % len(STYLES)]
        doc = yaml.safe_load((REPO_ROOT / "data" / "centers" / f"{style}.yaml").read_text(encoding="utf-8"))
        doc["center_id"] = f"scale_{number:03d}"
        doc["center_name"] = f"Scale center {number} ({style} style)"
        path = folder / f"{doc['center_id']}.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        configs.append(load_center(path))
    if xlsx := [t.file for c in configs for t in c.tables.values() if t.format != "csv"]:
        raise ValueError(f"scale mode writes CSV only, not {xlsx}")
    return configs


def csv_chunk(delivered: pl.DataFrame, table: TableConfig, header: bool, bad_rows: float = 0.0,
              rng: np.random.Generator | None = None) -> bytes:
    """A delivered chunk as CSV bytes in the table's delimiter and encoding; header only for the first chunk;
    about `bad_rows` of its rows spoiled with `rng` (scale_bad.spoil).

    polars prints the text the writers' `as_text` renders (the csv module is ~20x slower at this size);
    GBK re-encoding is skipped when the chunk is ASCII, where GBK and UTF-8 bytes are the same.
    """
    buffer = io.BytesIO()
    text = as_text(delivered, table)
    if bad_rows:
        text = spoil(text, table, bad_rows, rng)
    text.write_csv(buffer, separator=table.delimiter, include_header=header,
                                        line_terminator="\n")
    data = buffer.getvalue()
    return data if table.encoding == "utf-8" or data.isascii() else data.decode("utf-8").encode(table.encoding)


def generate(patients: int, centers: int, out: Path = DEFAULT_OUT, seed: int = 7,
             chunk_patients: int = CHUNK_PATIENTS, progress: bool = True, bad_rows: float = 0.0) -> list[Path]:
    """Write the scaled cohort under `out`; returns the delivered files.

    Two chunks are rendered at a time in threads (polars and numpy release the GIL) while this thread
    writes finished chunks in order, so the disk and both cores stay busy; at most WORKERS + 1 chunks exist.
    """
    from tqdm import tqdm  # the CLI's progress bar: stderr, so stdout stays for results

    if not 0 < centers <= patients:
        raise ValueError(f"{patients} patients cannot fill {centers} centers")
    if not 0 <= bad_rows < 1:
        raise ValueError(f"the fraction of bad rows must be in [0, 1), not {bad_rows}")
    out = Path(out).resolve()
    if out.is_relative_to(REPO_ROOT):
        raise ValueError(f"scaled output is never committed: write it outside the repository, not to {out}")
    _clear_previous(out)
    configs = scaled_centers(centers, out)
    chunks = plan_chunks(patients, centers, chunk_patients)
    root = np.random.SeedSequence(seed)
    seeds = root.spawn(len(chunks))
    bad_seeds = root.spawn(len(chunks))  # children len(chunks)...: the synthesis draws stay as they were
    render = partial(_render_chunk, configs=configs, seeds=seeds, bad_seeds=bad_seeds, bad_rows=bad_rows)
    files: list[Path] = []
    with (ThreadPoolExecutor(WORKERS) as pool, ExitStack() as stack,
          tqdm(total=patients, unit="patient", unit_scale=True, file=sys.stderr, disable=not progress) as bar):
        handles: dict[str, BinaryIO] = {}
        for chunk, rendered in zip(chunks, _bounded_map(pool, render, chunks, WORKERS + 1)):
            if chunk.first_patient == 0:  # a new center: close the previous one's files
                stack.close()
                handles = _open_files(configs[chunk.center], out / "landing", stack)
                files += [Path(h.name) for h in handles.values()]
            for name, data in rendered.items():
                handles[name].write(data)
            bar.update(chunk.patients)
    return files


def _render_chunk(chunk: Chunk, configs: list[CenterConfig], seeds: list[np.random.SeedSequence],
                  bad_seeds: list[np.random.SeedSequence], bad_rows: float) -> dict[str, bytes]:
    """The chunk's bytes for each of its center's tables (headers in a center's first chunk)."""
    config = configs[chunk.center]
    frames = synth_chunk(np.random.default_rng(seeds[chunk.index]), chunk.first_patient, chunk.patients,
                         _mrn_prefix(chunk.center), config.center_id, config.table("labs").detection_limits)
    bad_rng = np.random.default_rng(bad_seeds[chunk.index])
    return {name: csv_chunk(deliver_table(frames[name], table), table, chunk.first_patient == 0, bad_rows, bad_rng)
            for name, table in config.tables.items()}


def _bounded_map(pool: ThreadPoolExecutor, fn, items: list, ahead: int) -> Iterator:
    """pool.map in order, submitting at most `ahead` items before their results are taken (bounded memory)."""
    pending: deque[Future] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _mrn_prefix(center: int) -> str:
    return f"S{center + 1:03d}"


def _open_files(config: CenterConfig, landing: Path, stack: ExitStack) -> dict[str, BinaryIO]:
    folder = landing / config.center_id
    folder.mkdir(parents=True, exist_ok=True)
    return {name: stack.enter_context((folder / table.file).open("wb")) for name, table in config.tables.items()}


def _clear_previous(out: Path) -> None:
    """Remove scaled centers left by an earlier run (only scale_NNN entries: `out` may hold anything else)."""
    for entry in [*(out / "centers").glob("scale_*"), *(out / "landing").glob("scale_*")]:
        if SCALED_ID.fullmatch(entry.name):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo_cohort.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000, help="patients in all (default 1,000,000)")
    parser.add_argument("--centers", type=int, default=8, help="centers, styled sch, ach, sph in turn (default 8)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output root (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=CHUNK_PATIENTS, help="patients per chunk (bounds memory)")
    parser.add_argument("--bad-rows", type=float, default=0.0, metavar="FRACTION",
                        help="fraction of every table's delivered rows made bad (default 0; e.g. 0.01)")
    args = parser.parse_args(argv)
    if not 0 < args.centers <= args.patients or args.chunk < 1 or not 0 <= args.bad_rows < 1:
        parser.error("need 0 < --centers <= --patients, a positive --chunk and 0 <= --bad-rows < 1")
    files = generate(args.patients, args.centers, args.out, args.seed, args.chunk, bad_rows=args.bad_rows)
    print(f"{args.patients} patients across {args.centers} centers: {len(files)} files under {args.out}")


if __name__ == "__main__":
    main()
