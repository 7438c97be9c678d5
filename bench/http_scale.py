"""How HTTP throughput scales with server processes: ``yibao serve --workers N`` at 1, 8 and 32 clients.

    python bench/http_scale.py --pg postgresql://postgres@127.0.0.1:5432/test            # ~3 min
    python bench/http_scale.py --pg … --servers 1,2,4 --clients 8,32 --seconds 10

One scratch PostgreSQL database (created next to the one named, dropped at the end), loaded by
``population.py``; every run on it, each settlement a fresh family, as ``throughput.py`` does:

- in-process: the gateway dispatcher called by 1, 8, 32 worker processes (the reference);
- HTTP: a real ``yibao serve`` in production mode (API key, 9001 sign-in) with 1, 2 … server
  processes, and 1, 8, 32 HIS clients (processes, one keep-alive connection each).

Per run: settlements/s, p50 and p99, and the server's CPU per settlement (all its processes).
A process settles on one core (the settlement is Python, one interpreter lock per process); a
second process lets the gateway use a second core — on a machine whose cores PostgreSQL and the
clients also need, the table shows how much of that is left.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import throughput as tp  # noqa: E402


def main(argv: list[str] | None = None) -> list[tp.Row]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("YIBAO_TEST_PG_URL"), help="a PostgreSQL URL (the server to use)")
    ap.add_argument("--servers", default="1,2", help="server process counts (yibao serve --workers)")
    ap.add_argument("--clients", default="1,8,32", help="HIS client counts (and in-process worker counts)")
    ap.add_argument("--variant", default="voucher", choices=sorted(tp.CERT), help="how the insured is identified")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each timed run")
    ap.add_argument("--families", type=int, default=20_000, help="families in the scratch database")
    ap.add_argument("--no-inprocess", action="store_true", help="skip the in-process reference runs")
    ap.add_argument("--markdown", help="also write the report to this file")
    args = ap.parse_args(argv)
    if not args.pg:
        raise SystemExit("give --pg (or set YIBAO_TEST_PG_URL): several server processes need PostgreSQL")
    servers = [int(x) for x in args.servers.split(",") if x.strip()]
    clients = [int(x) for x in args.clients.split(",") if x.strip()]
    started, load0 = time.time(), os.getloadavg()
    rows: list[tp.Row] = []
    with tempfile.TemporaryDirectory(prefix="yibao-http-scale-") as tmp, ExitStack() as stack:
        dbs = tp.Databases(args.pg, Path(tmp))
        stack.callback(dbs.drop_all)
        tp.say(f"loading {args.families:,} families …")
        url, y = tp.loaded_pg(dbs, stack, args.families, "httpscale")
        if not args.no_inprocess:
            for w in clients:
                tp.say(f"in-process {args.variant}, {w} workers …")
                rows.append(tp.run_inprocess(y, args.variant, w, args.seconds))
        api_key = tp.issue_key(y)
        for n in servers:
            with tp.yibao_server(url, Path(tmp), workers=n) as srv:
                tp.http_sign_in(y, srv, api_key, args.variant)
                for c in clients:
                    tp.say(f"HTTP {args.variant}, {n} server process(es), {c} clients …")
                    row = tp.run_http(y, srv, api_key, c, args.seconds, args.variant)
                    row.path = f"HTTP, {n} server process{'es' if n > 1 else ''}"
                    rows.append(row)
        problems = y.invariants()
        wrapped = y.wrapped
    load1 = os.getloadavg()
    report = render(args, argv, rows, servers, clients, started, load0, load1, problems, wrapped)
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report + "\n", encoding="utf-8")
    return rows


def render(args, argv, rows, servers, clients, started, load0, load1, problems, wrapped) -> str:
    details = f"Each run {args.seconds:g} s, variant {args.variant}."
    out = tp.report_head(
        "http_scale.py", "yibao over HTTP with several server processes", argv, started, (load0, load1), details
    )
    out += [
        "| path | clients | n | settl./s | p50 ms | p99 ms | errors | CPU ms per settl. | ÷ in-process | ÷ 1 process |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    inproc = {r.workers: r for r in rows if r.path == "in-process"}
    one = {r.workers: r for r in rows if r.path == "HTTP, 1 server process"}
    for r in rows:
        cpu = tp.fmt(r.client_cpu_ms, ".2f") + (" (server)" if r.path.startswith("HTTP") else " (workers)")
        vs_in = tp.ratio(r.per_second, inproc[r.workers].per_second) if r.workers in inproc else "—"
        vs_one = tp.ratio(r.per_second, one[r.workers].per_second) if r.workers in one else "—"
        if not r.path.startswith("HTTP"):
            vs_in = vs_one = ""
        errors = ", ".join(f"{k} ×{v}" for k, v in r.errors.items()) or "0"
        out.append(
            f"| {r.path} | {r.workers} | {r.n:,} | {r.per_second:.1f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {errors} "
            f"| {cpu} | {vs_in} | {vs_one} |"
        )
    out += [
        "",
        "CPU per settlement: the in-process workers' processes, or every `yibao serve` process (the supervisor "
        "and its workers). ÷ in-process: settlements/s over HTTP ÷ in-process at the same number of clients "
        "(issue 11: ≥ 0.5× at 8). ÷ 1 process: over the single-process server at the same number of clients.",
        "",
        f"- ledger invariants after the runs: {'hold' if not problems else problems[:3]}",
    ]
    if wrapped:
        out.append("- ran out of fresh families; later settlements reused some")
    return "\n".join(out)


if __name__ == "__main__":
    main()
