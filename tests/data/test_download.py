"""The official-release path: a domain whose file is missing is downloaded (here from a local HTTP server
standing in for the QASPER host), cached, and not downloaded again."""

import functools
import http.server
import io
import json
import tarfile
import threading
from typing import ClassVar

import pytest

from tests.helpers import answer, make_paper, make_qa
from uae_assets.domains import Domain, load_domains
from uae_core.data.download import fetch_to_cache
from uae_core.data.qasper import load_qasper

PAPER = make_paper(["Some paragraph."], [make_qa("q", "What?", answer(free_form="x", evidence=["Some paragraph."]))])


class _Handler(http.server.SimpleHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        _Handler.hits.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    body = json.dumps({"paper-1": PAPER}).encode()
    (root / "qasper-dev-v0.3.json").write_bytes(body)
    with tarfile.open(root / "qasper-train-dev-v0.3.tgz", "w:gz") as tar:
        info = tarfile.TarInfo("qasper-dev-v0.3.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Handler.hits = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_archive_member_is_extracted_and_cached(server, tmp_path):
    dest = tmp_path / "cache" / "qasper-dev-v0.3.json"
    url = f"{server}/qasper-train-dev-v0.3.tgz"
    assert fetch_to_cache(url, dest, member="qasper-dev-v0.3.json") == dest
    assert load_qasper(dest).queries[0].query_id == "q"
    fetch_to_cache(url, dest, member="qasper-dev-v0.3.json")
    assert _Handler.hits == ["/qasper-train-dev-v0.3.tgz"]  # second call served from the cache
    assert not list(dest.parent.glob("tmp*"))  # no half files left behind


def test_archive_without_member_or_wrong_member_is_a_clear_error(server, tmp_path):
    url = f"{server}/qasper-train-dev-v0.3.tgz"
    with pytest.raises(ValueError, match="set `member`"):
        fetch_to_cache(url, tmp_path / "a.json")
    with pytest.raises(ValueError, match=r"no member 'nope\.json'"):
        fetch_to_cache(url, tmp_path / "a.json", member="nope.json")
    assert not (tmp_path / "a.json").exists()


def test_domain_downloads_when_missing_and_explains_when_it_cannot(server, tmp_path):
    config = tmp_path / "domains.yaml"
    config.write_text(f"""
domains:
  official:
    path: cache/qasper-dev.json
    url: {server}/qasper-dev-v0.3.json
    scope: paper
  missing:
    path: nowhere.json
""")
    domains, default = load_domains(config)
    assert default == "official" and domains["official"].scope == "document"
    path = domains["official"].source_file()
    assert path == tmp_path / "cache" / "qasper-dev.json" and path.is_file()
    with pytest.raises(FileNotFoundError, match="official QASPER release"):
        domains["missing"].source_file()
    with pytest.raises(RuntimeError, match=r"download of .* failed"):
        Domain("bad", tmp_path / "x.json", url=f"{server}/does-not-exist.json").source_file()


def test_bad_domains_file_is_rejected(tmp_path):
    config = tmp_path / "domains.yaml"
    config.write_text("domains:\n  d:\n    path: a.json\n    scope: everywhere\n")
    with pytest.raises(ValueError, match="scope must be"):
        load_domains(config)
