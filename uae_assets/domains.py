"""Domains by configuration: `domains.yaml` (or the file named by UAE_DOMAINS) maps a name to a
QASPER-layout file and a retrieval scope; a QASPER-layout `NAME.json` dropped into the watched folder
(`watch:` in domains.yaml, default data/domains_inbox/) is domain NAME too. Dagster partitions the whole
asset chain by these names (dynamic partitions, registered by the domain sensor or `uae materialize`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from uae_core.data.download import OFFICIAL_QASPER_HINT, fetch_to_cache
from uae_core.data.qasper import read_qasper_json
from uae_core.retrieval.ranking import normalize_scope

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
    """(name -> Domain, default domain name) from the config file alone."""
    path = path or domains_file()
    raw = _read(path)
    entries = raw.get("domains") or {}
    if not isinstance(entries, dict) or not entries:
        raise ValueError(f"{path}: `domains` must map at least one name to {{path, scope}}")
    out = {}
    for name, spec in entries.items():
        if not isinstance(spec, dict) or "path" not in spec:
            raise ValueError(f"{path}: domain {name!r} needs a `path`")
        try:
            scope = normalize_scope(spec.get("scope", "corpus"))
        except ValueError as exc:
            raise ValueError(f"{path}: domain {name!r}: {exc}") from None
        file = Path(spec["path"])
        out[name] = Domain(name, file if file.is_absolute() else (path.parent / file).resolve(),
                           scope, spec.get("url"), spec.get("member"))
    default = raw.get("default") or next(iter(out))
    if default not in out:
        raise ValueError(f"{path}: default domain {default!r} is not among {sorted(out)}")
    return out, default


def _read(path: Path) -> dict:
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with `domains:`")
    return raw


def watch_dir(path: Path | None = None) -> Path:
    path = path or domains_file()
    watch = _read(path).get("watch")
    if watch is None:
        return data_dir() / "domains_inbox"
    watch = Path(watch)
    return watch if watch.is_absolute() else (path.parent / watch).resolve()


DOMAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def looks_like_qasper(path: Path) -> bool:
    """Cheap check before registering a watched file: a JSON object whose first paper has full_text and qas."""
    try:
        raw = read_qasper_json(path)
    except (OSError, ValueError):
        return False
    first = next(iter(raw.values()), None)
    return isinstance(first, dict) and "full_text" in first and "qas" in first


def all_domains(path: Path | None = None) -> dict[str, Domain]:
    """Configured domains plus QASPER-layout files in the watched folder (configured names win).
    Reads every watched file: for the sensor's scan, not for looking up one domain (get_domain)."""
    domains, _ = load_domains(path)
    folder = watch_dir(path)
    if folder.is_dir():
        for file in sorted(folder.glob("*.json")):
            if file.stem not in domains and DOMAIN_NAME.match(file.stem) and looks_like_qasper(file):
                domains[file.stem] = Domain(file.stem, file.resolve(), "corpus")
    return domains


def get_domain(name: str) -> Domain:
    """One domain, without reading the watched folder's other files (called by every asset step).
    A watched file is taken as it is: the corpus asset validates it with errors naming file and field."""
    domains, _ = load_domains()
    if name in domains:
        return domains[name]
    watched = watch_dir() / f"{name}.json"
    if DOMAIN_NAME.match(name) and watched.is_file():
        return Domain(name, watched.resolve(), "corpus")
    raise KeyError(f"unknown domain {name!r}: not in {domains_file()} nor a file {watched}; "
                   f"configured: {sorted(domains)}")


def data_dir() -> Path:
    """Root of everything generated (DuckDB, MLflow, indexes, reports, caches)."""
    return Path(os.environ.get("UAE_DATA_DIR", REPO_ROOT / "data")).resolve()
