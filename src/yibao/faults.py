"""Fail points for the fault tests: ``YIBAO_FAULT=<point>`` makes the process die at that point.

The three-instance fault tests (tests/test_crossregion_faults.py) start real servers and need an
instance to die *exactly* between two steps of a cross-region settlement — between the reserve and
the post, say — which no timing of an outside ``kill`` hits reliably. A point is a name; when the
environment names it, the process exits at once (``os._exit``: no cleanup, no flush, no ack — as a
``kill -9`` would). Unset (always, in production) a point costs one dictionary lookup.
"""

from __future__ import annotations

import os

POINTS = (
    "insured.before_post",  # 参保地: a post arrives, the process dies before applying it
    "care.after_reserve",  # 就医地: the reservation answered, the process dies before booking
    "care.after_commit",  # 就医地: the settlement committed, the process dies before the post
)


def point(name: str) -> None:
    if os.environ.get("YIBAO_FAULT") == name:
        os._exit(137)
