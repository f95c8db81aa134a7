"""The bare-DuckDB floor for a drop zone: the least any warehouse must do with the same files.

    python tests/benchmarks/landing_floor.py LANDING_DIR OUT_DB   (prints seconds and rows)

Every delivered CSV (LANDING_DIR/<center>/*.csv) is loaded as text into one DuckDB file, then one
SELECT DISTINCT pass is made over each. A copy of the team's shared perf script with the same logic, so that
the project never reads outside itself; bench_scale.py runs it in a child process and measures it.
"""
import glob
import os
import sys
import time

import duckdb

land, out = sys.argv[1], sys.argv[2]
if os.path.exists(out):
    os.remove(out)
t = time.perf_counter()
con = duckdb.connect(out)
rows = 0
for i, path in enumerate(sorted(glob.glob(f"{land}/*/*.csv"))):
    with open(path, "rb") as handle:
        head = handle.readline()
    enc = "utf-8"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        enc = "latin-1"
    delim = ";" if head.count(b";") > head.count(b",") else ","
    con.execute(f"create table t{i} as select * from read_csv(?, all_varchar=true, delim=?, header=true, encoding=?)",
                [path, delim, enc if enc == "utf-8" else "latin-1"])
    rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
    con.execute(f"create table d{i} as select distinct * from t{i}")
con.close()
print(f"floor {time.perf_counter() - t:.2f} s, {rows} rows")
