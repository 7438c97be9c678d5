"""Does one statement beat a pipeline of several? PostgreSQL backend CPU per round trip, measured.

    python bench/statement_cost.py [--url postgresql://postgres@127.0.0.1:5432/test] [--n 3000]

One connection, libpq's pipeline, prepared statements, ``BEGIN … COMMIT`` in the same round trip
(as ``storage/wire.py`` sends a settlement): 10 primary-key SELECTs pipelined against one SELECT of
the same 10 subqueries, and 5 INSERTs pipelined against one data-modifying CTE of the same 5. The
backend's CPU is read from ``/proc/<pid>/stat`` (PostgreSQL on this machine). Scratch tables
``stmt_cost_*`` are made and dropped.
"""

from __future__ import annotations

import argparse
import os
import select
import time

import psycopg
from psycopg import pq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args()
    c = psycopg.connect(args.url, autocommit=True, prepare_threshold=None)
    c.execute("DROP TABLE IF EXISTS stmt_cost_r, stmt_cost_w")
    c.execute("CREATE TABLE stmt_cost_r (id int PRIMARY KEY, v int)")
    c.execute("INSERT INTO stmt_cost_r SELECT g, g FROM generate_series(1, 1000) g")
    c.execute("CREATE TABLE stmt_cost_w (id bigserial PRIMARY KEY, a int, b text)")
    pid, pg, tick = c.info.backend_pid, c.pgconn, os.sysconf("SC_CLK_TCK")

    def backend_cpu() -> float:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    def trip(names: list[bytes], value: bytes) -> None:
        pg.enter_pipeline_mode()
        pg.send_query_params(b"BEGIN", None)
        for name in names:
            pg.send_query_prepared(name, [value])
        pg.send_query_params(b"COMMIT", None)
        pg.pipeline_sync()
        while pg.flush():
            select.select([], [pg.socket], [])
        while True:
            while pg.is_busy():
                select.select([pg.socket], [], [])
                pg.consume_input()
            r = pg.get_result()
            if r is not None and r.status == pq.ExecStatus.PIPELINE_SYNC:
                break
        pg.exit_pipeline_mode()

    def run(label: str, statements: list[bytes]) -> None:
        names = []
        for text in statements:
            name = b"sc%d" % len(prepared)
            prepared.append(name)
            pg.prepare(name, text)
            names.append(name)
        cpu0, wall0 = backend_cpu(), time.perf_counter()
        for i in range(args.n):
            trip(names, str(i % 1000 + 1).encode())
        cpu, wall = (backend_cpu() - cpu0) / args.n * 1000, (time.perf_counter() - wall0) / args.n * 1000
        print(f"{label:<40} backend CPU {cpu:.3f} ms  wall {wall:.3f} ms per round trip")

    prepared: list[bytes] = []
    select_one = b"SELECT v FROM stmt_cost_r WHERE id = $1"
    insert_one = b"INSERT INTO stmt_cost_w (a, b) VALUES ($1, 'x')"
    cases = [
        ("BEGIN + COMMIT only", []),
        ("10 SELECTs, pipelined", [select_one] * 10),
        ("1 SELECT of the 10 as subqueries", [b"SELECT " + b", ".join([b"(" + select_one + b")"] * 10)]),
        ("5 INSERTs, pipelined", [insert_one] * 5),
        (
            "1 CTE of the 5 INSERTs",
            [
                b"WITH "
                + b", ".join(b"x%d AS (%s RETURNING 1)" % (j, insert_one) for j in range(5))
                + b" SELECT (SELECT count(*) FROM x0)"
            ],
        ),
    ]
    try:
        for label, statements in cases * 2:  # twice, alternating: the machine is shared
            run(label, statements)
    finally:
        c.execute("DROP TABLE IF EXISTS stmt_cost_r, stmt_cost_w")
        c.close()


if __name__ == "__main__":
    main()
