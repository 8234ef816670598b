"""faiss_index: every passage of the domain embedded by the registered version."""

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from uae_assets.assets.common import domain_of, domain_partitions, eager, load_registered
from uae_assets.resources import MLflowResource, Storage
from uae_core.data import Passage
from uae_core.retrieval.encoder import cached_encode
from uae_core.retrieval.index import IndexFiles, save_domain_index
from uae_core.tracking.registry import RegisteredEncoder


@asset(partitions_def=domain_partitions, group_name="model", code_version="2", automation_condition=eager,
       kinds={"faiss"})
def faiss_index(context: AssetExecutionContext, uae_encoder: RegisteredEncoder, passages: list[Passage],
                mlflow_store: MLflowResource, storage: Storage) -> Output[IndexFiles]:
    """An exact inner-product index of the domain's passages, with a sidecar of passage ids."""
    model = load_registered(uae_encoder, mlflow_store, storage)
    emb = cached_encode(model, [p.text for p in passages], storage.folder("cache", "embeddings"), show_progress=True)
    files = save_domain_index(emb, [p.passage_id for p in passages],
                              storage.path("indexes", domain_of(context).name, f"v{uae_encoder.version}.faiss"),
                              uae_encoder.model_uri)
    return Output(files, metadata={"index_path": MetadataValue.path(files.index_path),
                                   "sidecar_path": MetadataValue.path(files.sidecar_path),
                                   "dagster/row_count": files.passages, "dim": files.dim,
                                   "model_uri": uae_encoder.model_uri})
