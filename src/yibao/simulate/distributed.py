"""The same partitions on Dask distributed: one task per partition, Parquet in and out.

``workers=N`` starts a ``LocalCluster`` of N processes on this machine (one kernel thread each);
``scheduler="tcp://host:8786"`` uses any running Dask cluster whose workers can read the dataset
folder (a shared file system or object store mounted at the same path). Results are small and are
added up here as tasks finish, so the client's memory does not grow with the population.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from yibao.simulate.data import Manifest
from yibao.simulate.tables import PolicyTables


def run_on_dask(
    run_partition: Callable,
    folder: Path,
    manifest: Manifest,
    tables: list[tuple[str, PolicyTables]],
    edges: np.ndarray,
    claims_out: str | None,
    reducer,
    workers: int | None,
    scheduler: str | None,
    progress: Callable[[int, int, int], None] | None,
) -> int:
    """Run ``run_partition`` (``simulate.runner``'s, passed in: no import circle) on every partition."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
        )
        client = Client(cluster)
    try:
        n_workers = len(client.scheduler_info().get("workers", {})) or (workers or 1)
        shared_tables = client.scatter(tables, broadcast=True)
        futures = [
            client.submit(
                run_partition,
                str(folder.resolve()),
                manifest,
                i,
                shared_tables,
                edges,
                claims_out,
                1,
                pure=False,
            )
            for i in range(manifest.partitions)
        ]
        for done, future in enumerate(as_completed(futures), start=1):
            reducer.add(future.result())
            future.release()
            if progress:
                progress(done, manifest.partitions, reducer.claims)
        return n_workers
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
