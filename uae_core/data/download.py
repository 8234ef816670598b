"""Fetch a domain's source file (e.g. the official QASPER release) once and cache it.

The official release is a .tgz holding `qasper-train-v0.3.json` and `qasper-dev-v0.3.json`; a plain .json
URL works too. The download goes to a temporary file and is renamed into place only when complete, so an
interrupted download never leaves a half file that looks cached.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

OFFICIAL_QASPER_URL = "https://qasper-dataset.s3.us-west-2.amazonaws.com/qasper-train-dev-v0.3.tgz"
OFFICIAL_QASPER_HINT = (
    "Get the official QASPER release (CC-BY-4.0) from https://allenai.org/data/qasper: download "
    f"{OFFICIAL_QASPER_URL}, extract qasper-dev-v0.3.json (or -train-) and point the domain's `path` at it in "
    "domains.yaml, or set the domain's `url` (and `member`) there so that it is downloaded and cached for you."
)


def fetch_to_cache(url: str, dest: str | Path, member: str | None = None, timeout: float = 60.0) -> Path:
    """Download `url` to `dest` (skipped if `dest` exists). For an archive, extract `member` (a file name)."""
    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        raw = Path(tmp) / "download"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(raw, "wb") as out:
                shutil.copyfileobj(resp, out)
        except OSError as exc:
            raise RuntimeError(f"download of {url} failed: {exc}. {OFFICIAL_QASPER_HINT}") from None
        if tarfile.is_tarfile(raw):
            if member is None:
                raise ValueError(f"{url} is an archive: set `member` to the JSON file to take from it")
            with tarfile.open(raw) as tar:
                names = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                if member not in names:
                    raise ValueError(f"{url}: archive has no member {member!r}; it has {sorted(names)}")
                src = tar.extractfile(names[member])
                assert src is not None
                with open(raw.with_suffix(".json"), "wb") as out:
                    shutil.copyfileobj(src, out)
            raw = raw.with_suffix(".json")
        raw.replace(dest)
    return dest
