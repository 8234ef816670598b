"""The MLflow model registry: the student as safetensors artifacts, a model version per training run, and
the `champion` alias that moves only when a new version beats it on the dev split."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION = "champion"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisteredEncoder:
    """A registered version of a domain's student (what uae_encoder hands to faiss_index and eval_report)."""

    model_uri: str  # models:/uae-encoder-<domain>/<version>
    version: str
    run_id: str
    max_seq_length: int
    reused: bool = False  # an existing version trained on the same inputs
    dev_metrics: dict[str, float] = field(default_factory=dict)
    compared_with: str | None = None  # the champion it was compared with on dev (its model_uri), if any


def model_name(domain: str) -> str:
    return f"uae-encoder-{domain}"


INPUT_EXAMPLE = ["Which datasets do the experiments use?", "What baseline do they compare to?"]


def pinned_requirements() -> list[str]:
    """The packages a loaded model needs, pinned to this environment's versions. Passed explicitly: MLflow
    would record torch without its +cpu local version, and `pip install torch==X` then pulls a CUDA build."""
    from importlib.metadata import version

    return [f"{p}=={version(p).split('+')[0]}" for p in ("torch", "transformers", "sentence-transformers")]


def log_student(model) -> str:
    """Log the student with MLflow's sentence-transformers flavor into the active run: safetensors, a
    signature (strings in, embeddings out), an input example and pinned requirements, so that
    `mlflow.pyfunc.load_model` and `mlflow models serve` work. Returns the logged model's URI."""
    from mlflow.models import infer_signature

    signature = infer_signature(INPUT_EXAMPLE, model.encode(INPUT_EXAMPLE, normalize_embeddings=True))
    info = mlflow.sentence_transformers.log_model(model, name="model", signature=signature,
                                                  input_example=INPUT_EXAMPLE, pip_requirements=pinned_requirements())
    return info.model_uri


def register_version(client: MlflowClient, domain: str, logged_model_uri: str, run_id: str,
                     tags: dict[str, str] | None = None) -> str:
    """A new version of `uae-encoder-<domain>` from a logged model (log_student)."""
    name = model_name(domain)
    with contextlib.suppress(MlflowException):  # already registered
        client.create_registered_model(name, description=f"UAE student encoder for domain {domain}: "
                                       "a sentence-transformers model (question or passage in, embedding out)")
    mv = client.create_model_version(name, source=logged_model_uri, run_id=run_id, tags=tags or {},
                                     model_id=logged_model_uri.removeprefix("models:/"))
    return str(mv.version)


def find_version(client: MlflowClient, domain: str, tag: str, value: str):
    """The newest registered version of the domain's model whose tag `tag` equals `value`, or None."""
    try:
        versions = client.search_model_versions(f"name = '{model_name(domain)}'")
    except MlflowException:
        return None
    matches = [v for v in versions if v.tags.get(tag) == value]
    return max(matches, key=lambda v: int(v.version), default=None)


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    version: str
    score: float
    champion_version: str | None
    champion_score: float | None
    metric: str
    base_score: float | None = None  # the untrained base encoder's, on the same dev questions

    @property
    def beats_base(self) -> bool:
        return self.base_score is None or self.score > self.base_score

    def describe(self) -> str:
        if not self.beats_base:
            return (f"v{self.version} ({self.metric}={self.score:.4f}) does not beat the base encoder "
                    f"({self.metric}={self.base_score:.4f}) on dev: registered, not promoted"
                    + (f"; champion stays v{self.champion_version}" if self.champion_version else
                       "; the domain serves BM25 + the base encoder (the free hybrid)"))
        if self.champion_version is None:
            return f"v{self.version} is the first version: champion ({self.metric}={self.score:.4f})"
        verdict = "beats" if self.promoted else "does not beat"
        return (f"v{self.version} ({self.metric}={self.score:.4f}) {verdict} champion v{self.champion_version} "
                f"({self.metric}={self.champion_score:.4f})")


def promote_if_better(client: MlflowClient, domain: str, version: str, metric: str, score: float,
                      champion_score: float | None = None, base_score: float | None = None) -> PromotionDecision:
    """Move `champion` to `version` if it strictly beats the base encoder's `base_score` (when given) and
    has no champion or strictly beats it on `metric`. The champion's score is `champion_score` when given
    (measured on the same dev questions just now: the right comparison when the domain's data changed), else
    the dev score stored on it (tag `dev_<metric>`). A version that does not beat the base is never champion,
    the first one included: users keep what they had for free."""
    name = model_name(domain)
    client.set_model_version_tag(name, version, f"dev_{metric}", str(score))
    try:
        champ = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champ = None
    champ_version = None if champ is None else str(champ.version)  # MLflow returns int versions
    champ_score = None
    if champ is not None and champ_version != version:
        champ_score = champion_score if champion_score is not None else float(champ.tags.get(f"dev_{metric}", "-inf"))
    beats_base = base_score is None or score > base_score
    promoted = beats_base and (champ is None or champ_version == version or score > champ_score)
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    previous = None if champ_version == version else champ_version
    return PromotionDecision(promoted, version, score, previous, champ_score, metric, base_score)


def download_version(version_uri: str, dst: str | Path) -> Path:
    """`models:/name/3` or `models:/name@champion` -> a local sentence-transformers folder. Files missing
    from the artifact store (deleted, moved) are a FileNotFoundError saying so, not "Unrecognized model"."""
    advice = "restore the MLflow artifact store, or run `uae materialize` for the domain to register a new version"
    try:
        root = Path(mlflow.artifacts.download_artifacts(artifact_uri=version_uri, dst_path=str(dst)))
    except (OSError, MlflowException) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FileNotFoundError(f"{version_uri}: its files could not be read from the MLflow artifact store "
                                f"({first}); {advice}") from None
    inner = root / "model.sentence_transformer"  # the flavor's layout; older versions held the folder itself
    folder = inner if inner.is_dir() else root
    if not (folder / "modules.json").is_file():
        raise FileNotFoundError(f"{version_uri}: the MLflow artifact store holds no model files for it "
                                f"(no modules.json among {sorted(p.name for p in root.iterdir())[:5]}); {advice}")
    return folder


# One part of a registered model URI as a folder name: a model name, a version number, or NAME@ALIAS.
_URI_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


def cache_target(model_uri: str, cache_dir: str | Path) -> Path:
    """Where local_copy keeps `model_uri` (models:/name/3 -> cache_dir/name/3): each part of the URI a plain
    folder name, and the resolved folder inside `cache_dir`; anything else is a ValueError naming the URI."""
    ref = model_uri.removeprefix("models:/")
    parts = ref.split("/")
    expected = "expected models:/NAME/VERSION or models:/NAME@ALIAS, each part letters, digits, '.', '_', '-'"
    if not model_uri.startswith("models:/") or not all(_URI_PART.match(p) and ".." not in p for p in parts):
        raise ValueError(f"model URI {model_uri!r} cannot name a folder of the model cache {cache_dir}: {expected}")
    root = Path(cache_dir).resolve()
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"model URI {model_uri!r} leads outside the model cache {root} (to {target}): {expected}")
    return target


MANIFEST = ".uae-files.json"  # in a downloaded copy: every file's size and sha256 when it was downloaded


def file_digests(folder: Path) -> dict[str, list]:
    """{relative path: [size, sha256]} of every file under `folder` but the manifest."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        out[path.relative_to(folder).as_posix()] = [path.stat().st_size, digest.hexdigest()]
    return out


def damaged_file(folder: Path) -> str | None:
    """The first file of a downloaded copy that is missing or differs from when it was downloaded (a
    truncated model.safetensors loads as "invalid header length", naming nothing), else None. Copies made
    before manifests existed are trusted as before."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        expected = json.loads(manifest.read_text())
    except ValueError:
        return MANIFEST
    sizes = {rel: (folder / rel).stat().st_size if (folder / rel).is_file() else None for rel in expected}
    wrong = [rel for rel, (size, _) in expected.items() if sizes[rel] != size]
    if wrong:
        return wrong[0]
    actual = file_digests(folder)
    return next((rel for rel, entry in expected.items() if actual.get(rel) != entry), None)


def local_copy(model_uri: str, cache_dir: str | Path) -> Path:
    """A registered version downloaded once under `cache_dir` (models:/name/3 -> cache_dir/name/3).

    The download goes to a temporary folder beside the target and is renamed into place, so a folder is
    either complete or absent. Each use checks the copy against the sizes and digests recorded when it was
    downloaded; a damaged copy is said (a warning naming the file) and downloaded again. A target that
    exists without `modules.json` was not written here: it is refused, naming it, not removed."""
    target = cache_target(model_uri, cache_dir)
    if (target / "modules.json").is_file():
        damaged = damaged_file(target)
        if damaged is None:
            return target
        logger.warning(f"{target / damaged}: differs from the copy downloaded from {model_uri} (truncated or "
                       "changed since); downloading it again")
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.damaged-", dir=target.parent))
        with contextlib.suppress(FileNotFoundError):  # another process moved it first
            target.rename(aside / target.name)
        shutil.rmtree(aside, ignore_errors=True)
        if (target / "modules.json").is_file():  # and already downloaded it again
            return target
    if target.exists() or target.is_symlink():
        raise FileExistsError(f"{target}: exists but is not a complete model folder (no modules.json), so it was "
                              f"not written by uae; move or delete it to download {model_uri} there again")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        downloaded = download_version(model_uri, tmp / "download")
        (downloaded / MANIFEST).write_text(json.dumps(file_digests(downloaded)))
        try:
            downloaded.rename(target)
        except OSError:
            if not (target / "modules.json").is_file():  # not another process that finished the same copy first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def champion_standing(client: MlflowClient, domain: str, version: str, metric: str) -> tuple[bool, float | None]:
    """(is `version` the champion, the champion's dev score on `metric`, None without a champion)."""
    name = model_name(domain)
    try:
        champ = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return False, None
    score = champ.tags.get(f"dev_{metric}")
    return str(champ.version) == str(version), None if score is None else float(score)


def champion_uri(client: MlflowClient, domain: str) -> str | None:
    """`models:/uae-encoder-<domain>/<N>` of the current champion, None when there is none."""
    try:
        return f"models:/{model_name(domain)}/{client.get_model_version_by_alias(model_name(domain), CHAMPION).version}"
    except MlflowException:
        return None


def champion_encoder(client: MlflowClient, domain: str) -> RegisteredEncoder | None:
    """The domain's current champion as a RegisteredEncoder (what the `champion` candidate source mines
    with), None when there is none."""
    uri = champion_uri(client, domain)
    if uri is None:
        return None
    version = uri.rsplit("/", 1)[1]
    run_id = client.get_model_version(model_name(domain), version).run_id
    max_seq_length = int(client.get_run(run_id).data.params.get("max_seq_length", 256))
    return RegisteredEncoder(uri, version, run_id, max_seq_length)
