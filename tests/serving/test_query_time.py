"""Query time, as users meet it after `uae materialize`: `uae search` over the champion's retriever, the
same over HTTP (`uae serve`, a real request), the model as an MLflow pyfunc, and `uae export` as a plain
sentence-transformers folder; all give the same encoder."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(materialized_world):
    return materialized_world.world  # shared with tests/ui (conftest.py)


@pytest.fixture(scope="module")
def cli(world):
    """`uae` commands in forked children of one process that imported the CLI once (~1 s each, not ~10)."""
    forked = world.forked()
    yield lambda *args: forked.uae(world, *args)
    forked.close()


def test_search_answers_from_the_champion_index(world, cli):
    proc = cli("search", "What accuracy is measured in paper 3?", "--k", "3", "--system", "bm25", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["model_uri"] == "models:/uae-encoder-good/1" and [h["rank"] for h in out["hits"]] == [1, 2, 3]
    assert [h["passage_id"] for h in out["hits"]] == _bm25_top(world, "What accuracy is measured in paper 3?", 3)
    for system in ("uae", "hybrid"):
        proc = cli("search", "What does paper 7 study?", "--system", system, "--json")
        assert proc.returncode == 0 and len(json.loads(proc.stdout)["hits"]) == 5
    text = cli("search", "What does paper 7 study?")
    assert text.returncode == 0 and "1. paper-" in text.stdout


def _bm25_top(world, question: str, k: int) -> list[str]:
    """The pipeline's own BM25 over the domain's passages: what the served index must return."""
    from uae_core.data import Query, load_corpus
    from uae_core.retrieval.systems import bm25_system

    passages = load_corpus(world.root / "good.json").passages
    rows = bm25_system(passages)([Query("q", "", question, (), (), (), "test")], None)[0][:k]
    return [passages[r].passage_id for r in rows]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_served_retriever_answers_a_real_http_request(world):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "uae_assets.cli", "serve", "--port", str(port)], env=world.env,
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    health = json.loads(r.read())
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()[-2000:]
                assert time.time() < deadline, "uae serve did not come up"
                time.sleep(1)
        assert health["status"] == "ok" and health["passages"] == 90
        body = json.dumps({"question": "What accuracy is measured in paper 3?", "k": 2, "system": "bm25"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/search", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            answer = json.loads(r.read())
        question = "What accuracy is measured in paper 3?"
        assert [h["passage_id"] for h in answer["hits"]] == _bm25_top(world, question, 2)
        bad = urllib.request.Request(f"http://127.0.0.1:{port}/search", data=b'{"question": "", "k": 0}',
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(bad, timeout=30)
        assert err.value.code == 422  # validated, not a server error
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_pyfunc_and_export_give_the_registered_encoder(world, cli, monkeypatch):
    import mlflow
    from sentence_transformers import SentenceTransformer

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{world.root / 'data' / 'mlflow' / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{world.root / 'data' / 'mlflow' / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{world.root / 'data' / 'mlflow' / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/uae-encoder-good@champion")
    questions = ["What does paper 7 study?", "Which benchmarks are used?"]
    embeddings = np.asarray(model.predict(questions))
    assert embeddings.shape == (2, 32)
    signature = model.metadata.signature
    assert signature.inputs.to_dict()[0]["type"] == "string" and signature.outputs is not None
    export = world.root / "exported"
    proc = cli("export", str(export))
    assert proc.returncode == 0, proc.stderr[-2000:]
    exported = SentenceTransformer(str(export)).encode(questions)
    assert np.allclose(exported, embeddings, atol=1e-5)
