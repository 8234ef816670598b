"""Domains by configuration: `domains.yaml` (or the file named by UAE_DOMAINS) maps a name to a source (a
file or a folder), its format and a retrieval scope; a source dropped into the watched folder (`watch:` in
domains.yaml, default data/domains_inbox/) as `NAME.json` or a folder `NAME/` is domain NAME too. Dagster
partitions the whole asset chain by these names (dynamic partitions, registered by the domain sensor or
`uae materialize`). Names become file paths and MLflow names, so they are checked here, before any work.
A configured domain may pin its own settings (`run_config:`, applied by uae_assets/domain_config.py)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from uae_core.data import LOADERS, detect_format
from uae_core.data.download import OFFICIAL_QASPER_HINT, fetch_to_cache
from uae_core.data.qasper import read_qasper_json
from uae_core.retrieval.ranking import normalize_scope

REPO_ROOT = Path(__file__).resolve().parent.parent


DOMAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
FORMATS = ("auto", *LOADERS)


class DomainError(ValueError):
    """A domain is misconfigured or unknown; the message names the file and the domain."""


def check_name(name: object, where: str) -> str:
    """A domain name must be a safe slug: it becomes folder names and MLflow experiment/model names."""
    if not isinstance(name, str) or not DOMAIN_NAME.match(name):
        raise DomainError(f"{where}: domain name {name!r} is not allowed: use letters, digits, '-' and '_' "
                          "(up to 63 characters, starting with a letter or digit)")
    return name


@dataclass(frozen=True)
class Domain:
    name: str
    path: Path
    scope: str = "corpus"
    format: str = "auto"  # one of FORMATS; auto = detected from the source's layout
    url: str | None = None
    member: str | None = None
    # The domain's own run config (`run_config:`, inline or a file): {"ops": {asset: {"config": {...}}}}, the
    # settings its runs start from (uae_assets/domain_config.py), and where it was read, for error messages.
    run_config: dict = field(default_factory=dict, hash=False)
    run_config_source: str = ""

    def pinned(self, op: str) -> dict:
        """The fields this domain pins for one asset ({} if none), as written (domain_config checks them)."""
        return dict(((self.run_config.get("ops") or {}).get(op) or {}).get("config") or {})

    def source_file(self) -> Path:
        """The domain's source, downloaded and cached first if it is missing and a URL is configured."""
        if self.path.exists():
            return self.path
        if self.url:
            from uae_core.data import load_corpus

            return fetch_to_cache(self.url, self.path, self.member, validate=lambda p: load_corpus(p, self.format))
        hint = OFFICIAL_QASPER_HINT if self.format in ("auto", "qasper") else "fix `path` in the domains file"
        raise FileNotFoundError(f"domain {self.name!r}: source {self.path} does not exist. {hint}")


def domains_file() -> Path:
    return Path(os.environ.get("UAE_DOMAINS", REPO_ROOT / "domains.yaml"))


def load_domains(path: Path | None = None) -> tuple[dict[str, Domain], str]:
    """(name -> Domain, default domain name) from the config file alone; every entry is checked."""
    path = path or domains_file()
    raw = _read(path)
    entries = raw.get("domains") or {}
    if not isinstance(entries, dict) or not entries:
        raise DomainError(f"{path}: `domains` must map at least one name to {{path, scope}}")
    out = {}
    for name, spec in entries.items():
        where = f"{path}, domain {name!r}"
        check_name(name, str(path))
        if not isinstance(spec, dict) or not spec.get("path"):
            raise DomainError(f"{where}: needs a `path` (a file or folder)")
        unknown = set(spec) - {"path", "scope", "format", "url", "member", "run_config"}
        if unknown:
            raise DomainError(f"{where}: unknown field(s) {sorted(unknown)}; "
                              "known: path, scope, format, url, member, run_config")
        try:
            scope = normalize_scope(spec.get("scope", "corpus"))
        except ValueError as exc:
            raise DomainError(f"{where}, field 'scope': {exc}") from None
        if not isinstance(spec["path"], str | Path):
            raise DomainError(f"{where}, field 'path': one file or folder, got a {type(spec['path']).__name__} "
                              f"({spec['path']!r}); put several files in one folder, or make one domain each")
        fmt = spec.get("format", "auto")
        if fmt not in FORMATS:
            raise DomainError(f"{where}, field 'format': {fmt!r} is not one of {list(FORMATS)}")
        file = Path(str(spec["path"]))
        run_config, source = _run_config(spec.get("run_config"), path, where)
        out[name] = Domain(name, file if file.is_absolute() else (path.parent / file).resolve(), scope, fmt,
                           spec.get("url"), spec.get("member"), run_config, source)
    default = raw.get("default") or next(iter(out))
    if default not in out:
        raise DomainError(f"{path}, field 'default': {default!r} is not among the domains {sorted(out)}")
    return out, default


# The assets whose settings a domain may pin: the method's. utility_labels' shards and chunk size are about the
# machine, and the teacher is a resource every domain shares (its version is observed once for all of them).
DOMAIN_OPS = ("corpus", "candidate_sets", "uae_encoder", "eval_report")


def _run_config(value: object, path: Path, where: str) -> tuple[dict, str]:
    """A domain's `run_config:` (a mapping, or a run config file relative to the domains file) checked for
    shape: {ops: {asset: {config: {...}}}} over DOMAIN_OPS. The values are checked where they are used."""
    if value is None:
        return {}, ""
    source = where
    if isinstance(value, str):
        file = Path(value) if Path(value).is_absolute() else (path.parent / value).resolve()
        source = f"{file} (run_config of {where})"
        try:
            value = yaml.safe_load(file.read_text()) or {}
        except OSError as exc:
            raise DomainError(f"{where}, field 'run_config': cannot read {file} ({exc.strerror or exc})") from None
        except yaml.YAMLError as exc:
            raise DomainError(f"{source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(value, dict):
        raise DomainError(f"{source}, field 'run_config': expected a mapping with `ops:` (or a file name), "
                          f"got {type(value).__name__}")
    if "resources" in value:
        raise DomainError(f"{source}, run_config: `resources` cannot be set per domain (the teacher is shared by "
                          "every domain); set it in the run's own config (uae materialize --config)")
    if set(value) - {"ops"}:
        raise DomainError(f"{source}, run_config: unknown field(s) {sorted(set(value) - {'ops'})}; known: ops")
    ops = value.get("ops") or {}
    if not isinstance(ops, dict):
        raise DomainError(f"{source}, run_config field 'ops': expected a mapping of asset names")
    for op, entry in ops.items():
        if op not in DOMAIN_OPS:
            raise DomainError(f"{source}, run_config ops.{op}: not a setting a domain can pin; "
                              f"known: {', '.join(DOMAIN_OPS)}")
        if not isinstance(entry, dict) or set(entry) - {"config"} or not isinstance(entry.get("config") or {}, dict):
            raise DomainError(f"{source}, run_config ops.{op}: expected {{config: {{field: value, ...}}}}")
    return {"ops": {op: {"config": dict(entry.get("config") or {})} for op, entry in ops.items()}}, source


def _read(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise DomainError(f"{path}: no such domains file (set UAE_DOMAINS or create it)") from None
    except yaml.YAMLError as exc:
        raise DomainError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise DomainError(f"{path}: expected a mapping with `domains:`, got {type(raw).__name__}")
    return raw


def watch_dir(path: Path | None = None) -> Path:
    path = path or domains_file()
    watch = _read(path).get("watch")
    if watch is None:
        return data_dir() / "domains_inbox"
    watch = Path(watch)
    return watch if watch.is_absolute() else (path.parent / watch).resolve()


def _watched(entry: Path) -> Domain:
    """A watched folder entry as a domain, or a DomainError saying why it is not one."""
    name = entry.stem if entry.is_file() else entry.name
    check_name(name, f"watched {entry}")
    if entry.is_file() and entry.suffix != ".json":
        raise DomainError(f"watched {entry}: only NAME.json (QASPER layout) files or NAME/ folders are domains")
    try:
        fmt = detect_format(entry)
        if fmt == "qasper":
            _check_qasper_shape(entry)
    except (OSError, ValueError) as exc:
        raise DomainError(f"watched {entry}: {exc}") from None
    return Domain(name, entry.resolve(), "corpus", fmt)


_SHAPE_CHECKED: dict[tuple[str, float, int], str | None] = {}


def _check_qasper_shape(path: Path) -> None:
    """A watched JSON file must look like QASPER (its first paper has full_text and qas); parsed once per
    (path, mtime, size), since the sensor scans the folder every 30 seconds."""
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _SHAPE_CHECKED:
        problem = None
        try:
            first = next(iter(read_qasper_json(path).values()), None)
            if not (isinstance(first, dict) and "full_text" in first and "qas" in first):
                problem = "not in the QASPER layout: its first paper has no `full_text` and `qas`"
        except ValueError as exc:
            problem = str(exc)
        _SHAPE_CHECKED[key] = problem
    if _SHAPE_CHECKED[key]:
        raise ValueError(_SHAPE_CHECKED[key])


def scan_watched(path: Path | None = None) -> tuple[dict[str, Domain], list[str]]:
    """Domains in the watched folder, and why each other entry was skipped (the sensor logs it)."""
    folder, found, skipped = watch_dir(path), {}, []
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or entry.name.endswith(".partial"):
                continue
            try:
                domain = _watched(entry)
            except DomainError as exc:
                skipped.append(str(exc))
                continue
            if domain.name in found:
                skipped.append(f"watched {entry}: domain {domain.name!r} is already {found[domain.name].path}")
            else:
                found[domain.name] = domain
    return found, skipped


def all_domains(path: Path | None = None) -> dict[str, Domain]:
    """Configured domains plus the watched folder's (configured names win)."""
    domains, _ = load_domains(path)
    watched, _ = scan_watched(path)
    return {**watched, **domains}


def get_domain(name: str) -> Domain:
    """One domain, without reading the watched folder's other entries (called by every asset step)."""
    check_name(name, "requested domain (--domain or partition key)")  # `../x` would find files outside the folder
    domains, _ = load_domains()
    if name in domains:
        return domains[name]
    folder = watch_dir()
    for entry in (folder / f"{name}.json", folder / name):
        if entry.exists():
            return _watched(entry)
    raise DomainError(f"unknown domain {name!r}: not in {domains_file()} (domains: {', '.join(sorted(domains))}) "
                      f"nor in the watched folder {folder}")


def data_dir() -> Path:
    """Root of everything generated (DuckDB, MLflow, indexes, reports, caches)."""
    return Path(os.environ.get("UAE_DATA_DIR", REPO_ROOT / "data")).resolve()
