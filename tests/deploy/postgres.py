"""A throwaway PostgreSQL server for the deploy tests (and anyone who wants one by hand):

    with postgres_server() as pg:
        pg.create_database("dagster")
        pg.url("dagster")   # postgresql://uae:...@127.0.0.1:PORT/dagster

initdb + pg_ctl in a fresh folder under the system temp dir, TCP on 127.0.0.1 and a free port, password
(scram) auth, no Unix socket outside that folder; fsync off (a test server). PostgreSQL refuses to run as
root, so as root the server runs as the unprivileged `postgres` user (the apt package creates it; `nobody`
otherwise) through runuser; as any other user it runs as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TOOLS = ("initdb", "pg_ctl", "postgres")


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: $PG_BINDIR, PATH, then the Debian/Ubuntu layout
    (/usr/lib/postgresql/<version>/bin, newest first) and the usual source-build and Homebrew places."""
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0], reverse=True)
    candidates += versions + [Path("/usr/local/pgsql/bin"), Path("/opt/homebrew/bin"), Path("/usr/pgsql/bin")]
    for d in candidates:
        if all((d / tool).is_file() and os.access(d / tool, os.X_OK) for tool in TOOLS):
            return d
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_user() -> str | None:
    """Who runs the server: None = this process's user; as root, an unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and neither a `postgres` nor a `nobody` user exists to run PostgreSQL")


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    run_as: str | None
    user: str = "uae"
    password: str = ""
    host: str = "127.0.0.1"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, db: str = "postgres", scheme: str = "postgresql") -> str:
        return f"{scheme}://{self.user}:{self.password}@{self.host}:{self.port}/{db}"

    def connect(self, db: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password, dbname=db)

    def create_database(self, name: str) -> str:
        con = self.connect()
        con.autocommit = True
        try:
            with con.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return self.url(name)

    def _cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", self.run_as, "--"] if self.run_as else []) + list(args)

    def _pg_ctl(self, *args: str, check: bool = True, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args),
                              capture_output=True, text=True, timeout=timeout, check=check, env=_env(),
                              cwd=self.root)

    def start(self) -> None:
        opts = (f"-c listen_addresses={self.host} -p {self.port} -c unix_socket_directories={self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        proc = self._pg_ctl("-l", str(self.root / "server.log"), "-w", "-t", "60", "-o", opts, "start",
                            check=False)
        if proc.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed ({proc.returncode}): {proc.stdout}{proc.stderr}\n{log[-3000:]}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop", check=False)


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}


def _init(bindir: Path) -> PostgresServer:
    run_as = _run_user()
    root = Path(tempfile.mkdtemp(prefix="uae-pg-"))
    server = PostgresServer(bindir, root, free_port(), run_as, password=secrets.token_hex(12))
    (root / "pwfile").write_text(server.password + "\n")
    if run_as:
        account = pwd.getpwnam(run_as)
        os.chown(root, account.pw_uid, account.pw_gid)
        os.chown(root / "pwfile", account.pw_uid, account.pw_gid)
    os.chmod(root, 0o700)
    proc = subprocess.run(server._cmd(str(bindir / "initdb"), "-D", str(server.data), "-U", server.user,
                                      f"--pwfile={root / 'pwfile'}", "--auth-host=scram-sha-256",
                                      "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"),
                          capture_output=True, text=True, timeout=120, env=_env(), cwd=root)
    if proc.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return server


@contextlib.contextmanager
def postgres_server(bindir: Path | None = None, attempts: int = 3) -> Iterator[PostgresServer]:
    """A running server, stopped and deleted on exit. Retries on another port if the chosen one was taken."""
    bindir = bindir or find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL binaries (initdb, pg_ctl, postgres) found")
    server = _init(bindir)
    try:
        for attempt in range(attempts):
            try:
                server.start()
                break
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                server.port = free_port()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
