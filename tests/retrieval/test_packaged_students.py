"""Packaged students: the 110M all-mpnet-base-v2 ships as a zip split over five packages, assembled once with
its digest checked; a bad part is refused, never half-installed."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from uae_core.weights import SPLIT_STUDENTS, SplitZip, assemble_split


class LocalSplit(SplitZip):
    """The same assembly over parts in a folder (not installed distributions)."""

    def part_files(self) -> list[Path]:
        return sorted(Path(self.distribution).glob(f"{self.member}.*"))


def _split(tmp_path: Path, corrupt: bool = False) -> LocalSplit:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("m/modules.json", "[]")
        zf.writestr("m/model.safetensors", b"\x01" * 5000)
    data = buffer.getvalue()
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, len(data), 2000), 1):
        (parts / f"m.zip.{i:03d}").write_bytes(data[start:start + 2000])
    sha = hashlib.sha256(data).hexdigest()
    if corrupt:
        (parts / "m.zip.002").write_bytes(b"\x00" * 2000)
    return LocalSplit(str(parts), 3, "m.zip", "m", sha)


def test_parts_are_assembled_once_into_the_model_folder(tmp_path):
    split = _split(tmp_path)
    target = assemble_split("m", split, tmp_path / "models")
    assert (target / "modules.json").read_text() == "[]" and (target / "model.safetensors").stat().st_size == 5000
    for part in (tmp_path / "parts").iterdir():  # the second call reads no part (none are left to read)
        part.unlink()
    assert assemble_split("m", split, tmp_path / "models") == target
    assert [p.name for p in (tmp_path / "models").iterdir()] == [target.name]  # no temporary folder left


def test_a_corrupt_part_is_refused_and_nothing_is_installed(tmp_path):
    with pytest.raises(ValueError, match=r"packaged model m: the parts' sha256 is .*reinstall"):
        assemble_split("m", _split(tmp_path, corrupt=True), tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_mpnet_parts_when_installed_give_a_768_wide_student():
    split = SPLIT_STUDENTS["all-mpnet-base-v2"]
    try:
        split.part_files()
    except ModuleNotFoundError as exc:
        pytest.skip(str(exc))
    from uae_core.retrieval.encoder import load_student

    model = load_student("packaged:all-mpnet-base-v2")
    assert model.encode(["a question"]).shape == (1, 768)
