"""The deploy tests' servers: one PostgreSQL server for the session (tests/deploy/postgres.py), with a fresh
database per test that asks for one. Skipped only where no PostgreSQL binaries exist (.ci/run installs them)."""

from __future__ import annotations

import itertools

import pytest

from tests.deploy.postgres import PostgresServer, find_bindir, postgres_server

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl, postgres) on PATH, in $PG_BINDIR or "
                    "/usr/lib/postgresql/*/bin: `apt-get install -y postgresql` (.ci/run does)")
    with postgres_server(bindir) as server:
        yield server


@pytest.fixture
def pg_database(postgres, request) -> str:
    """A new, empty database on the session's server; its name."""
    name = f"t{next(_names)}_{request.node.name.lower()[:40]}".replace("-", "_").replace("[", "_").rstrip("]")
    postgres.create_database(name)
    return name
