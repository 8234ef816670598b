"""The retriever over HTTP: question in, ranked passages out (FastAPI; `uae serve` runs it with uvicorn).

    POST /search {"question": "...", "k": 5, "system": "hybrid", "doc_id": null}
      -> {"model_uri": ..., "system": ..., "hits": [{"rank", "passage_id", "doc_id", "section", "text"}]}
    GET /health -> {"status": "ok", "passages": N, "model_uri": ...}
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from uae_core.retrieval.retriever import Retriever


class SearchRequest(BaseModel):
    question: str = Field(min_length=1, description="The question to retrieve passages for.")
    k: int = Field(default=5, ge=1, le=100, description="How many passages.")
    system: Literal["uae", "hybrid", "bm25"] = "hybrid"
    doc_id: str | None = Field(default=None, description="Retrieve within this document only.")


def create_app(retriever: Retriever) -> FastAPI:
    app = FastAPI(title="UAE retriever", description=f"Passages of {retriever.meta['model_uri']}")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "passages": len(retriever.passages), "model_uri": retriever.meta["model_uri"]}

    @app.post("/search")
    def search(request: SearchRequest) -> dict:
        try:
            hits = retriever.search(request.question, request.k, request.system, request.doc_id)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        return {"model_uri": retriever.meta["model_uri"], "system": request.system,
                "hits": retriever.as_dicts(hits)}

    return app
