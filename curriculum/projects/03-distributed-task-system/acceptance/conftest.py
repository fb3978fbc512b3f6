"""Fixtures of the acceptance suite: the namespace, the API server and the workers.

One API server runs for the whole session. The workers are started by the first test that needs
them and shared; the crash test kills one and the priority test stops them all, and the next
test that needs workers starts what is missing. Everything the suite starts runs in a process
group of its own and is killed at the end, whatever happened.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ApiServer, Cluster, RunClaim, remove_abandoned_runs


@pytest.fixture(scope="session", autouse=True)
def namespace() -> Iterator[None]:
    """This run's tables, queues and keys are removed at the end; so are those of runs that
    were killed before they could clean up (never those of a run still going)."""
    claim = RunClaim()
    remove_abandoned_runs()
    yield
    claim.release()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docpipe")


@pytest.fixture(scope="session")
def api(workdir: Path) -> Iterator[ApiServer]:
    """`python -m docpipe.api --port 0`, which creates the tables and prints its address."""
    server = ApiServer(workdir)
    try:
        server.wait_listening(timeout=45)
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def cluster(workdir: Path) -> Iterator[Cluster]:
    workers = Cluster(workdir)
    try:
        yield workers
    finally:
        workers.stop_all()


@pytest.fixture
def workers(cluster: Cluster, api: ApiServer) -> Cluster:
    """Three workers, prefork pool, two processes each, prefetch multiplier 1."""
    cluster.ensure()
    return cluster
