"""`uae serve`'s answers to hostile requests (issue #27): a body over 64 KB is 413; an empty or blank
question, an unknown doc_id, a k that is NaN, infinite, zero, negative or fractional are 422 with a one-line
`detail`; none of them writes a traceback or an error to the server's log, and the index is unchanged."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from uae_core.data import Passage
from uae_core.retrieval.encoder import encode, load_student
from uae_core.retrieval.fusion import Fusion
from uae_core.retrieval.retriever import Retriever, save_retriever
from uae_core.retrieval.server import MAX_BODY_BYTES, create_app


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_student_dir):
    folder = tmp_path_factory.mktemp("served") / "v1"
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    passages = [Passage(f"d{d}-p{i}", f"doc{d}", "Intro", f"Paper {d} paragraph {i} about topic {d * 3 + i}.")
                for d in range(3) for i in range(4)]
    save_retriever(folder, encode(model, [p.text for p in passages]), passages, "models:/uae-encoder-x/1", Fusion())
    before = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with TestClient(create_app(Retriever(folder, model)), raise_server_exceptions=False) as client:
        yield client
    assert {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def _post(client, body: str | bytes):
    return client.post("/search", content=body, headers={"Content-Type": "application/json"})


def test_a_good_request_still_answers(served):
    reply = _post(served, '{"question": "What is paper 1 about?", "k": 2, "system": "bm25", "doc_id": "doc1"}')
    assert reply.status_code == 200
    assert [h["doc_id"] for h in reply.json()["hits"]] == ["doc1", "doc1"]


BAD = {
    "empty_question": ('{"question": ""}', 422, "question"),
    "blank_question": ('{"question": "  \\n\\t "}', 422, "the question is empty or only whitespace"),
    "unknown_doc_id": ('{"question": "what?", "doc_id": "nope"}', 422, "'nope' is not a document of this index"),
    "k_nan": ('{"question": "what?", "k": NaN}', 422, "k:"),
    "k_infinity": ('{"question": "what?", "k": Infinity}', 422, "k:"),
    "k_zero": ('{"question": "what?", "k": 0}', 422, "k:"),
    "k_negative": ('{"question": "what?", "k": -3}', 422, "k:"),
    "k_fraction": ('{"question": "what?", "k": 2.5}', 422, "k:"),
    "k_huge": ('{"question": "what?", "k": 1e300}', 422, "k:"),
    "unknown_system": ('{"question": "what?", "system": "google"}', 422, "system:"),
    "not_json": ("question=what", 422, ""),
    "body_over_limit": ('{"question": "' + "a" * MAX_BODY_BYTES + '"}', 413, f"over {MAX_BODY_BYTES} bytes"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_requests_get_a_status_and_one_line_no_traceback(served, caplog, name):
    body, status, fragment = BAD[name]
    with caplog.at_level(logging.DEBUG):
        reply = _post(served, body)
    assert reply.status_code == status, reply.text
    detail = reply.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and fragment in detail
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text


def test_a_streamed_body_over_the_limit_is_refused_without_content_length(served):
    def chunks():
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"a" * 1024

    reply = served.post("/search", content=chunks(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 413
