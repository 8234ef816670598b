"""raw_corpus -> passages, queries: a domain's source file, parsed once."""

import time
from collections import Counter

from dagster import (AssetExecutionContext, AssetOut, DataVersion, MetadataValue, Output, asset,
                     multi_asset)

from uae_assets.assets.common import domain_of, domain_partitions, eager
from uae_assets.assets.sources import domain_file
from uae_assets.config import config_from_dataclass
from uae_core.qasper import LoadOptions, file_sha256, load_qasper, read_qasper_json


@asset(partitions_def=domain_partitions, group_name="corpus", code_version="1", deps=[domain_file],
       automation_condition=eager)
def raw_corpus(context: AssetExecutionContext) -> Output[dict]:
    """The domain's QASPER-layout file; its data version is the file's content hash."""
    domain = domain_of(context)
    path = domain.source_file()
    sha = file_sha256(path)
    papers = len(read_qasper_json(path))
    return Output({"path": str(path), "sha256": sha, "papers": papers}, data_version=DataVersion(sha[:16]),
                  metadata={"path": MetadataValue.path(str(path)), "sha256": sha, "papers": papers,
                            "bytes": path.stat().st_size, "scope": domain.scope})


LoadConfig = config_from_dataclass("LoadConfig", LoadOptions, "Split fractions and paragraph limits.")


@multi_asset(partitions_def=domain_partitions, group_name="corpus", code_version="1",
             outs={"passages": AssetOut(automation_condition=eager, description="One passage per non-empty paragraph, deduplicated "
                                                    "within a paper (id paper::section::paragraph)."),
                   "queries": AssetOut(automation_condition=eager, description="Answerable questions with reference answers, gold "
                                                   "evidence passage ids and a train/dev/test split by paper.")})
def corpus(context: AssetExecutionContext, config: LoadConfig, raw_corpus: dict):
    started = time.perf_counter()
    loaded = load_qasper(raw_corpus["path"], LoadOptions(**config.model_dump()))
    report = loaded.report.as_dict()
    splits = Counter(q.split for q in loaded.queries)
    for reason, n in loaded.report.skipped.items():
        context.log.warning(f"{raw_corpus['path']}: skipped {n} x {reason}")
    seconds = round(time.perf_counter() - started, 2)
    yield Output(loaded.passages, "passages",
                 metadata={"passages": len(loaded.passages), "papers": report["papers"], "seconds": seconds,
                           **{k: v for k, v in report.items() if k.startswith("skipped")}})
    yield Output(loaded.queries, "queries",
                 metadata={**report, **{f"{s}_queries": n for s, n in sorted(splits.items())}, "seconds": seconds})
