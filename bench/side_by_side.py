"""Two checkouts' settlements measured at the same time, for a before/after on a drifting machine.

    python bench/side_by_side.py --pg postgresql://postgres@127.0.0.1:5432/test --other /path/to/checkout
                                 [--variant voucher] [--rounds 4] [--seconds 12] [--people 24000]

Run one after the other, two trees' figures differ by as much as this shared machine's speed drifts
(up to 3× within minutes). Here both run at once: each tree (this one and ``--other``, e.g. a
``git worktree`` of the commit before) loads its own scratch database, then both start settling at
the same second, one worker each, for the same seconds — so both see the same machine. Per round:
settlements per second, the process's CPU per settlement and its PostgreSQL backend's. The
difference to read is within a round; the rounds show how far it holds.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(tree: str, url: str, db: str, variant: str, people: int, start_at: float, seconds: float) -> None:
    """In a child process whose ``PYTHONPATH`` is ``tree/src``: load, wait for the start, settle."""
    sys.path.insert(0, str(Path(tree) / "bench"))
    import contextlib
    import io

    import population
    import psycopg
    import throughput

    base = throughput.driver_url(url)
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{db}"')
    mine = base.rsplit("/", 1)[0] + f"/{db}"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            population.load(mine, people=people, relations=people // 2)
        y = throughput.Yibao(mine, label="side by side")
        y.warm_up()

        def backend_s() -> float:
            with psycopg.connect(base, autocommit=True) as c:
                pids = [r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (db,))]
            total = 0
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])
                except OSError:
                    pass
            return total / os.sysconf("SC_CLK_TCK")

        while time.time() < start_at:
            time.sleep(0.005)
        b0, r0, t0, n = backend_s(), resource.getrusage(resource.RUSAGE_SELF), time.time(), 0
        while time.time() - t0 < seconds:
            answer = y.settle_once(variant)
            assert answer["infcode"] == 0, answer["err_msg"]
            n += 1
        elapsed, r1, b1 = time.time() - t0, resource.getrusage(resource.RUSAGE_SELF), backend_s()
        client = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / n * 1000
        backend = (b1 - b0) / n * 1000
        print(f"{n / elapsed:.1f} {client:.3f} {backend:.3f}")
        y.dispose()
    finally:
        with psycopg.connect(base, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("YIBAO_TEST_PG_URL"))
    ap.add_argument("--other", required=True, help="the other checkout (its src/ and bench/ are used)")
    ap.add_argument("--variant", default="voucher")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--people", type=int, default=24_000)
    ap.add_argument("--lead", type=float, default=30.0, help="seconds allowed for both to load before the start")
    args = ap.parse_args(argv)
    if not args.pg:
        raise SystemExit("give --pg (or set YIBAO_TEST_PG_URL)")
    trees = {"this": str(HERE.parent), "other": str(Path(args.other).resolve())}
    rounds = []
    for r in range(args.rounds):
        start_at = time.time() + args.lead
        procs = {}
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(Path(tree) / "src")}
            cmd = [sys.executable, __file__, "--worker", tree, args.pg, f"yibao_side_{name}_{os.getpid()}",
                   args.variant, str(args.people), str(start_at), str(args.seconds)]  # fmt: skip
            procs[name] = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        got = {}
        for name, proc in procs.items():
            out, _ = proc.communicate(timeout=args.lead + args.seconds + 600)
            if proc.returncode != 0:
                raise SystemExit(f"{name} ({trees[name]}) failed")
            per_s, client, backend = (float(x) for x in out.split()[-3:])
            got[name] = {"per_second": per_s, "client_ms": client, "backend_ms": backend}
        rounds.append(got)
        this, other = got["this"], got["other"]
        print(
            f"round {r + 1}: this {this['per_second']:.1f}/s ({this['client_ms']:.2f} + {this['backend_ms']:.2f} ms)"
            f"  other {other['per_second']:.1f}/s ({other['client_ms']:.2f} + {other['backend_ms']:.2f} ms)"
            f"  this ÷ other {this['per_second'] / other['per_second']:.3f}",
            flush=True,
        )
    return rounds


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        tree, url, db, variant, people, start_at, seconds = sys.argv[2:9]
        worker(tree, url, db, variant, int(people), float(start_at), float(seconds))
    else:
        main()
