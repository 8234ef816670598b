"""The pieces of the UI check: the Dagster and MLflow web servers on free local ports, the system Chromium
driven by Playwright (no browser download), and screenshots into a folder ($UAE_SCREENSHOTS).

tests/ui/test_browser.py uses them against a materialized world; `UAE_SCREENSHOTS=docs .venv/bin/python -m pytest
tests/ui` refreshes the README's screenshots.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO

CHROMIUM = Path("/usr/bin/chromium")
# The network is closed here: without the background-networking flags Chromium stalls on refused connections.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
BIN = Path(sys.executable).parent  # dagster-webserver and mlflow of this environment


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.is_file() else ""

    def wait_until_answers(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        raise TimeoutError(f"{self.name} did not answer {self.url}{path} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server and the processes it started (its own process group, made by start_new_session)."""
        if self.process.poll() is None:
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue


def start_server(name: str, command: list[str], env: dict[str, str], cwd: Path, log: Path, port: int) -> Server:
    out = log.open("w")
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    return Server(name, f"http://127.0.0.1:{port}", process, log)


def dagster_webserver(env: dict[str, str], port: int, log: Path) -> Server:
    """`dagster-webserver -w workspace.yaml` from the repo root, on the instance in env's DAGSTER_HOME."""
    command = [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    return start_server("dagster-webserver", command, env, REPO, log, port)


def mlflow_ui(db: Path, env: dict[str, str], port: int, log: Path) -> Server:
    """`mlflow ui` on the world's sqlite store (the registry is in the same database). Its job runner (GenAI
    scorers, not used here) is off: it would start a dozen worker processes on a 2-core machine."""
    command = [str(BIN / "mlflow"), "ui", "--backend-store-uri", f"sqlite:///{db}", "--host", "127.0.0.1",
               "--port", str(port)]
    return start_server("mlflow ui", command, {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, log.parent,
                        log, port)


@contextmanager
def chromium(profile: Path) -> Iterator[object]:
    """A fresh headless Chromium (the system one, /usr/bin/chromium) with its own profile folder: a
    Playwright BrowserContext with a 1280x800 viewport, as a first-time user's browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS, viewport=VIEWPORT)
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()


class Screenshots:
    """Screenshots by name into one folder: $UAE_SCREENSHOTS, else `default`."""

    def __init__(self, default: Path):
        self.folder = Path(os.environ.get("UAE_SCREENSHOTS") or default).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def __call__(self, page, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path))
        self.taken.append(path)
        return path
