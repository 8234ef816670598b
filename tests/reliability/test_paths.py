"""Paths built from user input stay inside their root (issue #27): a `--version` or model URI never names a
folder outside the model cache and local_copy deletes nothing it did not create; a partition key or any
storage part with `..` or an absolute path is refused by Storage; a `../x` domain name is refused where
domains are looked up. Each checks that nothing outside was touched."""

from __future__ import annotations

import pytest

from uae_assets.domains import DomainError, get_domain
from uae_assets.resources import Storage
from uae_core.tracking.registry import cache_target, local_copy


def _victim(tmp_path):
    victim = tmp_path / "victim" / "1"
    victim.mkdir(parents=True)
    (victim / "precious.txt").write_text("keep me")
    return victim


@pytest.mark.parametrize("uri", [
    "models:/uae-encoder-good/../../../victim/1", "models:/../victim/1", "models:/uae-encoder-good/..",
    "models:/uae-encoder-good//1", "models:/uae-encoder-good/.hidden", "/etc/passwd", "models:/a/b\x00c",
    "models:/uae-encoder-good/1 ; rm -rf", "runs:/abc/model"])
def test_local_copy_refuses_a_uri_that_is_not_a_cache_folder_and_deletes_nothing(tmp_path, uri):
    victim = _victim(tmp_path)
    cache = tmp_path / "data" / "models" / "registry"
    with pytest.raises(ValueError, match=r"model URI .* (cannot name a folder|leads outside)"):
        local_copy(uri, cache)
    assert (victim / "precious.txt").read_text() == "keep me"
    assert not cache.exists() or not any(cache.rglob("*"))


def test_cache_target_keeps_names_versions_and_aliases_inside_the_cache(tmp_path):
    assert cache_target("models:/uae-encoder-good/3", tmp_path) == tmp_path.resolve() / "uae-encoder-good" / "3"
    assert cache_target("models:/uae-encoder-srv@champion", tmp_path) == \
        tmp_path.resolve() / "uae-encoder-srv@champion"


def test_local_copy_refuses_a_symlink_leading_out_of_the_cache(tmp_path):
    victim = _victim(tmp_path)
    cache = tmp_path / "cache"
    (cache / "uae-encoder-good").mkdir(parents=True)
    (cache / "uae-encoder-good" / "1").symlink_to(victim, target_is_directory=True)
    with pytest.raises(ValueError, match="leads outside the model cache"):
        local_copy("models:/uae-encoder-good/1", cache)
    assert (victim / "precious.txt").read_text() == "keep me"


def test_local_copy_refuses_a_folder_it_did_not_write_instead_of_deleting_it(tmp_path):
    cache = tmp_path / "cache"
    foreign = cache / "uae-encoder-good" / "1"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"not a complete model folder \(no modules.json\).*move or delete it"):
        local_copy("models:/uae-encoder-good/1", cache)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_local_copy_downloads_into_a_temporary_folder_and_renames_it(tmp_path, monkeypatch):
    from uae_core.tracking import registry

    seen = []

    def fake_download(uri, dst):
        seen.append(dst)
        dst.mkdir(parents=True)
        (dst / "modules.json").write_text("[]")
        return dst

    monkeypatch.setattr(registry, "download_version", fake_download)
    cache = tmp_path / "cache"
    target = local_copy("models:/uae-encoder-good/2", cache)
    assert target == cache.resolve() / "uae-encoder-good" / "2" and (target / "modules.json").is_file()
    assert seen[0].parent.parent == target.parent and seen[0].parent.name.startswith(".2.partial-")
    assert sorted(p.name for p in target.parent.iterdir()) == ["2"]  # the temporary folder is gone
    assert local_copy("models:/uae-encoder-good/2", cache) == target and len(seen) == 1  # cached


def test_a_failed_download_leaves_nothing_behind(tmp_path, monkeypatch):
    from uae_core.tracking import registry

    def failing(uri, dst):
        dst.mkdir(parents=True)
        raise OSError("network down")

    monkeypatch.setattr(registry, "download_version", failing)
    with pytest.raises(OSError, match="network down"):
        local_copy("models:/uae-encoder-good/2", tmp_path / "cache")
    assert list((tmp_path / "cache" / "uae-encoder-good").iterdir()) == []


@pytest.mark.parametrize("parts", [("candidates", "../../victim.json"), ("candidates", "/etc/passwd"),
                                   ("..", "x"), ("indexes", "good", "../../../../x"), ("cache", ""),
                                   ("reports", "a/../../b")])
def test_storage_refuses_parts_that_leave_its_root(tmp_path, parts):
    storage = Storage(root=str(tmp_path / "data"))
    for build in (storage.path, storage.folder):
        with pytest.raises(ValueError, match=r"storage path part .* is not allowed"):
            build(*parts)
    assert not (tmp_path / "data").exists() and not (tmp_path / "victim.json").exists()


def test_storage_keeps_ordinary_parts_and_a_symlinked_cache_working(tmp_path):
    storage = Storage(root=str(tmp_path / "data"))
    assert storage.path("candidates", "good.json") == (tmp_path / "data" / "candidates" / "good.json").resolve()
    elsewhere = tmp_path / "big-disk"
    elsewhere.mkdir()
    (tmp_path / "data" / "cache").symlink_to(elsewhere, target_is_directory=True)
    assert storage.folder("cache", "embeddings").is_dir() and (elsewhere / "embeddings").is_dir()


@pytest.mark.parametrize("name", ["../../victim", "../x", "a/b", "/etc/passwd", ".."])
def test_a_domain_name_with_a_path_is_refused_where_domains_are_looked_up(tmp_path, monkeypatch, name):
    """A dynamic partition key is looked up as a domain by every asset step (domain_of): `../../victim`
    found `<data>/../victim.json` through the watched folder."""
    (tmp_path / "data" / "domains_inbox").mkdir(parents=True)
    (tmp_path / "victim.json").write_text("{}")
    (tmp_path / "domains.yaml").write_text("domains: {}\n")
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UAE_DOMAINS", str(tmp_path / "domains.yaml"))
    with pytest.raises(DomainError, match=r"domain name .* is not allowed"):
        get_domain(name)
    assert (tmp_path / "victim.json").read_text() == "{}"


def test_a_damaged_copy_is_named_and_downloaded_again(tmp_path, monkeypatch, caplog):
    from uae_core.tracking import registry

    seen = []

    def fake_download(uri, dst):
        seen.append(dst)
        dst.mkdir(parents=True)
        (dst / "modules.json").write_text("[]")
        (dst / "model.safetensors").write_bytes(b"\x08" * 4096)
        return dst

    monkeypatch.setattr(registry, "download_version", fake_download)
    cache = tmp_path / "cache"
    target = local_copy("models:/uae-encoder-good/2", cache)
    assert registry.damaged_file(target) is None
    with (target / "model.safetensors").open("r+b") as f:
        f.truncate(100)  # a disk that filled up, a copy cut short
    with caplog.at_level("WARNING", logger="uae_core"):
        again = local_copy("models:/uae-encoder-good/2", cache)
    assert again == target and len(seen) == 2 and (target / "model.safetensors").stat().st_size == 4096
    assert f"{target / 'model.safetensors'}: differs from the copy downloaded" in caplog.text
    assert sorted(p.name for p in target.parent.iterdir()) == ["2"]  # the damaged copy is gone, nothing else
    (target / "model.safetensors").write_bytes(b"\x09" * 4096)  # same size, other bytes: the digest tells
    assert registry.damaged_file(target) == "model.safetensors"


def test_a_copy_made_before_manifests_is_trusted(tmp_path):
    from uae_core.tracking import registry

    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    assert registry.damaged_file(folder) is None
