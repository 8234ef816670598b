"""Fetch a domain's source file (e.g. the official QASPER release) once and cache it.

The official release is a .tgz holding `qasper-train-v0.3.json` and `qasper-dev-v0.3.json`; a plain .json
URL works too. The download goes to a temporary file and is renamed into place only when complete, so an
interrupted download never leaves a half file that looks cached.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

OFFICIAL_QASPER_URL = "https://qasper-dataset.s3.us-west-2.amazonaws.com/qasper-train-dev-v0.3.tgz"
OFFICIAL_QASPER_HINT = (
    "Get the official QASPER release (CC-BY-4.0) from https://allenai.org/data/qasper: download "
    f"{OFFICIAL_QASPER_URL}, extract qasper-dev-v0.3.json (or -train-) and point the domain's `path` at it in "
    "domains.yaml, or set the domain's `url` (and `member`) there so that it is downloaded and cached for you."
)


def fetch_to_cache(url: str, dest: str | Path, member: str | None = None, timeout: float = 60.0,
                   validate: Callable[[Path], object] | None = None) -> Path:
    """Download `url` to `dest`; for an archive, extract `member` (a file name). A cached file is reused only
    if it came from the same URL and member (recorded beside it in `<dest>.source`), and nothing is cached
    unless `validate` (e.g. parsing it) accepts it: a broken download is never mistaken for the data."""
    dest = Path(dest)
    source_note = dest.with_name(dest.name + ".source")
    wanted = json.dumps({"url": url, "member": member})
    if dest.is_file() and (not source_note.is_file() or source_note.read_text() == wanted):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        raw = Path(tmp) / f"download{dest.suffix}"  # the suffix lets format detection see a .json file
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
                extracted = raw.with_name(f"member{dest.suffix or '.json'}")
                with open(extracted, "wb") as out:
                    shutil.copyfileobj(src, out)
            raw = extracted
        if validate is not None:
            try:
                validate(raw)
            except ValueError as exc:
                raise ValueError(f"download of {url} is not usable, so it was not cached: "
                                 f"{str(exc).replace(str(raw), 'the downloaded file')}") from None
        raw.replace(dest)
        source_note.write_text(wanted)
    return dest
