"""Where a settlement's PostgreSQL backend CPU goes, statement by statement, as the server counts it.

    python bench/statement_stats.py --pg postgresql://postgres@127.0.0.1:5432/test [--variant voucher]
                                    [--n 300] [--families 3000] [--log /var/log/postgresql/….log]

The throughput bench reads a backend's CPU from ``/proc`` around a whole run; this asks PostgreSQL
itself. On a scratch database (superuser needed) it sets ``log_statement_stats``: for every protocol
message of every statement — parse, bind, execute — the server logs the user and system CPU that
message took (``getrusage`` around it) with the statement's text. N settlements run (the same 2102
as ``throughput.py``, through the gateway dispatcher); the server log's new lines for the database
are read back (``--log``: the server's log file, stderr logging as Debian's clusters have it) and
summed per statement.

The counting costs the server a little per message, so the absolute figures run somewhat above the
bench's; the shares are what to read (which statement, bind or execute) — and two trees compared
with the same command (``PYTHONPATH=<other tree>/src``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import population  # noqa: E402
import throughput as tp  # noqa: E402

_ENTRY = re.compile(
    r"@(?P<db>\S+) LOG:  (?P<kind>PARSE|BIND|EXECUTE) MESSAGE STATISTICS\n.*?"
    r"(?P<user>[\d.]+) s user, (?P<system>[\d.]+) s system.*?STATEMENT:  (?P<text>.*?)\n(?=\d{4}-|\Z)",
    re.S,
)


def default_log() -> str | None:
    logs = sorted(Path("/var/log/postgresql").glob("postgresql-*-main.log"))
    return str(logs[-1]) if logs else None


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("YIBAO_TEST_PG_URL"))
    ap.add_argument("--variant", default="voucher")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--families", type=int, default=3000)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--log", default=default_log(), help="the PostgreSQL server's log file")
    args = ap.parse_args(argv)
    if not args.pg:
        raise SystemExit("give --pg (or set YIBAO_TEST_PG_URL)")
    if not args.log or not os.access(args.log, os.R_OK):
        raise SystemExit(f"cannot read the server's log ({args.log}): give --log")
    import psycopg

    with tempfile.TemporaryDirectory() as tmp:
        dbs = tp.Databases(args.pg, Path(tmp))
        try:
            url = dbs.new("pg", "stats")
            name = tp.dbname_of(url)
            population.load(url, people=2 * args.families, relations=args.families)
            with psycopg.connect(tp.driver_url(url), autocommit=True) as c:
                c.execute(f'ALTER DATABASE "{name}" SET log_statement_stats = on')
            y = tp.Yibao(url, label="PostgreSQL")  # its connections open after the setting
            y.warm_up()
            start = os.path.getsize(args.log)
            for _ in range(args.n):
                answer = y.settle_once(args.variant)
                assert answer["infcode"] == 0, answer["err_msg"]
            y.dispose()
            with open(args.log, encoding="utf-8", errors="replace") as f:
                f.seek(start)
                text = f.read()
        finally:
            dbs.drop_all()
    seen = [
        (m["kind"], float(m["user"]) + float(m["system"]), " ".join(m["text"].split()))
        for m in _ENTRY.finditer(text)
        if m["db"] == name
    ]
    return report(seen, args.n, args.top, args.variant)


def report(seen: list[tuple[str, float, str]], n: int, top: int, variant: str) -> dict:
    by: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for kind, seconds, text in seen:
        by[text[:100]][kind] += seconds
    total = sum(s for _, s, _ in seen)
    if not seen:
        print("no statement statistics found in the server's log (is it the file the server writes?)")
        return {"per_settlement_ms": 0.0, "messages": 0.0, "statements": {}}
    print(
        f"{variant}: {total / n * 1000:.3f} ms of backend CPU per settlement in its protocol messages "
        f"({len(seen) / n:.1f} messages; log_statement_stats)\n"
    )
    print("   ms  (parse/bind/execute)  statement")
    rows = sorted(by.items(), key=lambda kv: -sum(kv[1].values()))
    for text, kinds in rows[:top]:
        parts = " ".join(f"{k[0]}{kinds[k] / n * 1000:.3f}" for k in ("PARSE", "BIND", "EXECUTE") if k in kinds)
        print(f"{sum(kinds.values()) / n * 1000:6.3f}  {parts:<22} {text}")
    return {"per_settlement_ms": total / n * 1000, "messages": len(seen) / n, "statements": dict(by)}


if __name__ == "__main__":
    main()
