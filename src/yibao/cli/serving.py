"""``yibao serve --workers N``: N server processes on one port, each with its own platform and pool.

One process serves the gateway on one core: the settlement is Python, and a process's threads share
one interpreter lock. With ``--workers N`` uvicorn binds the port once and starts N processes (spawned,
not forked: nothing of the parent's connections or threads is inherited); each one calls
:func:`worker_app`, which opens the database (no migration: the parent already did it) with a pool
of its own, builds the same platform the single-process server would, and returns the app.

The parent passes its options in ``YIBAO_SERVE_WORKER`` (JSON). Everything the processes share lives
in the database (credentials, sign-ins, sessions' secret, lockouts), so any process answers any call.
What is kept in a process (the sandbox's movable clock, the inter-region link's consumer) is why
``--workers`` refuses ``--sandbox`` and ``--nats``.
"""

from __future__ import annotations

import gc
import json
import logging
import os

from fastapi import FastAPI

ENV = "YIBAO_SERVE_WORKER"


def worker_options(
    *,
    db: str,
    admin_token: str,
    log_level: str,
    require_sign_in: bool,
    strict_fields: bool,
    region: str | None,
    api_docs: str | None,
    gateway_prefix: str | None,
) -> str:
    """The options every worker process needs, as the JSON :func:`worker_app` reads."""
    return json.dumps(
        {
            "db": db,
            "admin_token": admin_token,
            "log_level": log_level,
            "require_sign_in": require_sign_in,
            "strict_fields": strict_fields,
            "region": region,
            "api_docs": api_docs,
            "gateway_prefix": gateway_prefix,
        }
    )


def freeze_startup_heap() -> None:
    """What starting made (modules, the app, the platform) lives as long as the process: taken out of
    the cyclic collector's view (``gc.freeze``), so that a full collection walks only what requests
    made since. Measured on ``yibao serve`` under load: a full collection walked ~170,000 startup
    objects in 26–119 ms, every request in flight waiting; with them frozen, one of 30 ms per run
    (``bench/results/2026-12-04-stop23.md``)."""
    gc.collect()
    gc.freeze()


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory)."""
    from yibao.api.app import create_app
    from yibao.api.logs import configure
    from yibao.services.platform import Platform, SystemClock, platform_settings
    from yibao.storage.opening import open_store

    opts = json.loads(os.environ[ENV])
    configure(getattr(logging, opts["log_level"].upper(), logging.INFO))
    p = Platform(
        open_store(opts["db"], migrate=False),
        SystemClock(),
        require_sign_in=opts["require_sign_in"],
        strict_fields=opts["strict_fields"],
        region=opts["region"],
        **platform_settings(os.environ),
    )
    app = create_app(
        p, admin_token=opts["admin_token"], api_docs=opts["api_docs"], gateway_prefix=opts["gateway_prefix"]
    )
    freeze_startup_heap()
    return app
