"""Where a settlement's Python time goes: cProfile over N in-process 2102s on a fresh database.

    python bench/profile_settle.py [--db sqlite|postgresql://…/scratch] [--n 300] [--variant card|voucher]
                                   [--no-profile]

Loads a small population (``population.py``), warms up as ``throughput.py`` does, then profiles N
settlements through the gateway dispatcher and prints process CPU per settlement and the top
functions by cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import population
import throughput


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--variant", default="card")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--no-profile", action="store_true", help="only the process CPU per settlement, unprofiled")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "p.sqlite") if args.db == "sqlite" else args.db
        population.load(url, people=2 * (args.n + 50), relations=args.n + 50)
        y = throughput.Yibao(url, label="profile")
        y.warm_up()
        if args.no_profile:
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            for _ in range(args.n):
                answer = y.settle_once(args.variant)
                assert answer["infcode"] == 0, answer["err_msg"]
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            user, sys_ = ((getattr(r1, f) - getattr(r0, f)) / args.n * 1000 for f in ("ru_utime", "ru_stime"))
            switches = (r1.ru_nvcsw - r0.ru_nvcsw) / args.n
            print(
                f"{args.variant}: {user + sys_:.2f} ms process CPU per settlement (user {user:.2f} + system"
                f" {sys_:.2f}; {switches:.1f} voluntary context switches; unprofiled, 1 worker, {args.n})"
            )
            y.dispose()
            return
        prof = cProfile.Profile(time.process_time)  # CPU, not wall time (the machine is shared)
        t0 = time.process_time()
        prof.enable()
        for _ in range(args.n):
            answer = y.settle_once(args.variant)
            assert answer["infcode"] == 0, answer["err_msg"]
        prof.disable()
        cpu = (time.process_time() - t0) / args.n * 1000
        print(f"{args.variant}: {cpu:.2f} ms process CPU per settlement (profiled; unprofiled is lower)")
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        y.dispose()


if __name__ == "__main__":
    main()
