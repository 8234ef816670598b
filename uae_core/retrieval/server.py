"""The retriever over HTTP: question in, ranked passages out (FastAPI; `uae serve` runs it with uvicorn).

    POST /search {"question": "...", "k": 5, "system": "hybrid", "doc_id": null}
      -> {"model_uri": ..., "system": ..., "hits": [{"rank", "passage_id", "doc_id", "section", "text"}]}
    GET /health -> {"status": "ok", "passages": N, "model_uri": ...}

Bad requests get a status and a one-line `detail`, never a traceback in the server's log: a body over
MAX_BODY_BYTES 413; an empty or blank question, a `k` that is not a whole number in 1..100 (NaN included), an
unknown `system` or a `doc_id` the index does not hold 422.
"""

from __future__ import annotations

import json
from typing import Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from uae_core.retrieval.retriever import Retriever

MAX_BODY_BYTES = 64 * 1024  # a question is a sentence; 20 MB of one cost 29 s of CPU and 1.4 GB (issue #27)


class SearchRequest(BaseModel):
    question: str = Field(min_length=1, description="The question to retrieve passages for.")
    k: int = Field(default=5, ge=1, le=100, description="How many passages.")
    system: Literal["uae", "hybrid", "bm25"] = "hybrid"
    doc_id: str | None = Field(default=None, description="Retrieve within this document only.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, question: str) -> str:
        if not question.strip():
            raise ValueError("the question is empty or only whitespace")
        return question


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is answered 413 before the app reads any of it
    (by its Content-Length, or while it streams in without one)."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.limit):
            return await self._too_large(send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._too_large(send)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _too_large(self, send) -> None:
        body = json.dumps({"detail": f"request body over {self.limit} bytes; send one question"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def create_app(retriever: Retriever, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    app = FastAPI(title="UAE retriever", description=f"Passages of {retriever.meta['model_uri']}")
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    doc_ids = {p.doc_id for p in retriever.passages}

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's own handler echoes the input, and a NaN input cannot be written as JSON (a 500 with a
        traceback): the field and the problem only."""
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
                           for e in exc.errors())
        return JSONResponse({"detail": detail}, status_code=422)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "passages": len(retriever.passages), "model_uri": retriever.meta["model_uri"]}

    @app.post("/search")
    def search(request: SearchRequest) -> dict:
        if request.doc_id is not None and request.doc_id not in doc_ids:
            raise HTTPException(status_code=422, detail=f"doc_id: {request.doc_id[:200]!r} is not a document of "
                                f"this index ({len(doc_ids)} documents)")
        try:
            hits = retriever.search(request.question, request.k, request.system, request.doc_id)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        except FileNotFoundError as exc:  # index.faiss is gone: bm25 still answers, the others say so
            raise HTTPException(status_code=503, detail=str(exc)) from None
        return {"model_uri": retriever.meta["model_uri"], "system": request.system,
                "hits": retriever.as_dicts(hits)}

    return app
