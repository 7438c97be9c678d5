"""Issue 11's ratios measured in alternation, for a machine whose speed drifts while it is measured.

    python bench/ratios.py --pg postgresql://postgres@127.0.0.1:5432/test [--rounds 5] [--seconds 5]
                           [--workers 1,8] [--variants voucher,card] [--markdown out.md]

``throughput.py`` measures each path once, one after another: on this shared machine the speed of a
core changed by up to 3× within one run (the floor did 159/s at 1 worker in one run, 903/s in the
next), so a ratio of two figures taken minutes apart can be off by as much. Here the same runs are
made in rounds — per round, for each worker count: yibao in-process (each variant) and the floor
(the same rows by hand, one round trip; first in every other round), then the pgledger peer at 8
workers — each run a few seconds, so both sides of a ratio are measured within seconds of each
other. Each round's ratios are printed, and their median: the figure to quote. The databases are
loaded once (fresh families for every settlement, as in ``throughput.py``); the ledgers are checked
at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floor as floor_mod  # noqa: E402
import population  # noqa: E402
import throughput as tp  # noqa: E402

from yibao.storage.uow import Store  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("YIBAO_TEST_PG_URL"), help="a PostgreSQL URL (the server to use)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each timed run")
    ap.add_argument("--workers", default="1,8")
    ap.add_argument("--variants", default="voucher,card")
    ap.add_argument("--families", type=int, default=40_000, help="families loaded (one per settlement)")
    ap.add_argument("--peer-dir", default=str(tp.PEER_DIR))
    ap.add_argument("--pgledger-git", default="")
    ap.add_argument("--pgledger-commit", default=tp.PGLEDGER_COMMIT)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--markdown", help="also write the report to this file")
    args = ap.parse_args(argv)
    if not args.pg:
        raise SystemExit("give --pg (or set YIBAO_TEST_PG_URL)")
    levels = [int(x) for x in args.workers.split(",") if x.strip()]
    variants = [v for v in args.variants.split(",") if v]
    started = time.time()
    per_round: list[dict[str, float]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="yibao-ratios-") as tmp, ExitStack() as stack:
        dbs = tp.Databases(args.pg, Path(tmp))
        stack.callback(dbs.drop_all)
        tp.say(f"loading {args.families:,} families (yibao), and as many for the floor …")
        _, y = tp.loaded_pg(dbs, stack, args.families, "yibao")
        furl = dbs.new("pg", "floor")
        fpop = population.load(
            furl, people=2 * args.families, relations=args.families, balances=floor_mod.FLOOR_BALANCES
        )
        fl = floor_mod.Floor(furl, fpop, y.texts(), sqlite=False)
        fstate = {"next": 0}
        tp.run_floor(fl, "PostgreSQL", 1, 1.0, fstate)  # warm-up: plans, caches
        plugin, why = (None, "--no-peer") if args.no_peer else tp.pgledger_plugin(args)
        if plugin is not None:
            purl = dbs.new("pg", "pgledger")
            ids = tp.setup_pgledger(plugin, purl, 5000, 10_000)
            pstate = {"done": 5000}
        else:
            notes.append(f"pgledger peer skipped: {why}")
        for r in range(args.rounds):
            got: dict[str, float] = {}
            for w in levels:
                # the floor before yibao in every other round: a drift within a round favours neither
                for what in ["floor", *variants] if r % 2 else [*variants, "floor"]:
                    tp.say(f"round {r + 1}: {what}, {w} workers …")
                    if what == "floor":
                        got[f"floor@{w}"] = tp.run_floor(fl, "PostgreSQL", w, args.seconds, fstate).per_second
                    else:
                        got[f"{what}@{w}"] = tp.run_inprocess(y, what, w, args.seconds).per_second
            if plugin is not None:
                tp.say(f"round {r + 1}: pgledger, 8 workers …")
                row = tp.run_pgledger_on(plugin, purl, ids, "PostgreSQL", 8, args.seconds, pstate)
                got["pgledger@8"] = row.per_second
                if row.note != "verified":
                    notes.append(f"round {r + 1}: pgledger {row.note}")
            per_round.append(got)
        problems = y.invariants()
        notes.append(f"yibao ledger invariants after the runs: {'hold' if not problems else problems[:3]}")
        fstore = Store.open(furl, migrate=False)
        fproblems = population.verify(fstore, full=False)
        fstore.dispose()
        notes.append(f"floor ledger after the runs: {fproblems if fproblems else 'balanced'}")
    report = render(args, argv, per_round, levels, variants, notes, started)
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report + "\n", encoding="utf-8")
    return {"rounds": per_round}


def ratios_of(got: dict[str, float], levels: list[int], variants: list[str]) -> dict[str, float]:
    """One round's ratios: each variant ÷ the floor at each worker count, ÷ pgledger at 8, 8 ÷ 1."""
    out: dict[str, float] = {}
    for variant in variants:
        for w in levels:
            if got.get(f"floor@{w}"):
                out[f"{variant} ÷ floor, {w} workers"] = got[f"{variant}@{w}"] / got[f"floor@{w}"]
        if got.get("pgledger@8") and f"{variant}@8" in got:
            out[f"{variant} ÷ pgledger, 8 workers"] = got[f"{variant}@8"] / got["pgledger@8"]
        if 1 in levels and 8 in levels and got.get(f"{variant}@1"):
            out[f"{variant} 8 ÷ 1 workers"] = got[f"{variant}@8"] / got[f"{variant}@1"]
    if 1 in levels and 8 in levels and got.get("floor@1"):
        out["floor 8 ÷ 1 workers (reference)"] = got["floor@8"] / got["floor@1"]
    if got.get("pgledger@8") and got.get("floor@8"):
        out["floor ÷ pgledger, 8 workers (reference)"] = got["floor@8"] / got["pgledger@8"]
    return out


TARGETS = {"÷ floor": "≥ 0.4×", "÷ pgledger": "≥ 1.0×", "8 ÷ 1": "≥ 3×"}


def render(args, argv, per_round, levels, variants, notes, started) -> str:
    cmd = "python bench/ratios.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        f"`{cmd}` — {len(per_round)} rounds of {args.seconds:g} s runs, {time.time() - started:.0f} s in all",
        "",
    ]
    keys = list(per_round[0]) if per_round else []
    lines.append("| round | " + " | ".join(keys) + " |")
    lines.append("|---|" + "---:|" * len(keys))
    for i, got in enumerate(per_round, 1):
        lines.append(f"| {i} | " + " | ".join(f"{got[k]:,.1f}" for k in keys) + " |")
    lines.append("")
    table = [ratios_of(got, levels, variants) for got in per_round]
    lines.append("| ratio | each round | median | issue 11 target |")
    lines.append("|---|---|---:|---|")
    for name in table[0] if table else []:
        values = [t[name] for t in table if name in t]
        target = next((v for k, v in TARGETS.items() if k in name and "reference" not in name), "")
        each = " ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {name} | {each} | {statistics.median(values):.2f}× | {target} |")
    lines.append("")
    lines.extend(f"- {n}" for n in notes)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
