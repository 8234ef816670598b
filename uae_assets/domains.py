"""Domains by configuration: `domains.yaml` (or the file named by UAE_DOMAINS) maps a name to a
QASPER-layout file and a retrieval scope. Dagster partitions the whole asset chain by these names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from uae_core.download import OFFICIAL_QASPER_HINT, fetch_to_cache

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Domain:
    name: str
    path: Path
    scope: str = "corpus"
    url: str | None = None
    member: str | None = None

    def source_file(self) -> Path:
        """The domain's file, downloaded and cached first if it is missing and a URL is configured."""
        if self.path.is_file():
            return self.path
        if self.url:
            return fetch_to_cache(self.url, self.path, self.member)
        raise FileNotFoundError(f"domain {self.name!r}: source file {self.path} does not exist. "
                                + OFFICIAL_QASPER_HINT)


def domains_file() -> Path:
    return Path(os.environ.get("UAE_DOMAINS", REPO_ROOT / "domains.yaml"))


def load_domains(path: Path | None = None) -> tuple[dict[str, Domain], str]:
    """(name -> Domain, default domain name)."""
    path = path or domains_file()
    raw = yaml.safe_load(path.read_text()) or {}
    entries = raw.get("domains") or {}
    if not isinstance(entries, dict) or not entries:
        raise ValueError(f"{path}: `domains` must map at least one name to {{path, scope}}")
    out = {}
    for name, spec in entries.items():
        if not isinstance(spec, dict) or "path" not in spec:
            raise ValueError(f"{path}: domain {name!r} needs a `path`")
        if spec.get("scope", "corpus") not in ("paper", "corpus"):
            raise ValueError(f"{path}: domain {name!r}: scope must be 'paper' or 'corpus'")
        file = Path(spec["path"])
        out[name] = Domain(name, file if file.is_absolute() else (path.parent / file).resolve(),
                           spec.get("scope", "corpus"), spec.get("url"), spec.get("member"))
    default = raw.get("default") or next(iter(out))
    if default not in out:
        raise ValueError(f"{path}: default domain {default!r} is not among {sorted(out)}")
    return out, default


def data_dir() -> Path:
    """Root of everything generated (DuckDB, MLflow, indexes, reports, caches)."""
    return Path(os.environ.get("UAE_DATA_DIR", REPO_ROOT / "data")).resolve()
