"""raw_corpus -> passages, queries: a domain's source, hashed, then parsed once."""

from collections import Counter

from dagster import AssetExecutionContext, AssetOut, DataVersion, MetadataValue, Output, asset, multi_asset

from uae_assets import checks
from uae_assets.assets.common import domain_of, domain_partitions, eager, with_domain_settings
from uae_assets.assets.sources import domain_file
from uae_assets.config import config_from_dataclass, to_dataclass
from uae_core.data import LoadOptions, SourceFile, describe_source, load_corpus


@asset(partitions_def=domain_partitions, group_name="corpus", code_version="2", deps=[domain_file],
       automation_condition=eager, kinds={"json"})
def raw_corpus(context: AssetExecutionContext) -> Output[SourceFile]:
    """The domain's source file; its data version is the content hash."""
    domain = domain_of(context)
    source = describe_source(domain.source_file(), domain.format)
    return Output(source, data_version=DataVersion(source.sha256[:16]),
                  metadata={"path": MetadataValue.path(source.path), "sha256": source.sha256,
                            "bytes": source.bytes, "format": source.format, "scope": domain.scope})


LoadConfig = config_from_dataclass("LoadConfig", LoadOptions)


@multi_asset(partitions_def=domain_partitions, group_name="corpus", code_version="2",
             check_specs=checks.PASSAGES + checks.QUERIES, outs={
    "passages": AssetOut(automation_condition=eager, kinds={"python"},
                         description="One passage per non-empty paragraph, deduplicated within a document."),
    "queries": AssetOut(automation_condition=eager, kinds={"python"},
                        description="Questions with reference answers, gold evidence passage ids and a "
                                    "train/dev/test split by document.")})
def corpus(context: AssetExecutionContext, config: LoadConfig, raw_corpus: SourceFile):
    config, settings = with_domain_settings(context, config, "corpus")
    loaded = load_corpus(raw_corpus.path, raw_corpus.format, to_dataclass(config, LoadOptions))
    report = loaded.report.as_dict()
    for reason, n in loaded.report.skipped.items():
        context.log.warning(f"{raw_corpus.path}: skipped {n} x {reason}")
    splits = Counter(q.split for q in loaded.queries)
    context.log.info(corpus_summary(loaded, splits))
    yield Output(loaded.passages, "passages",
                 metadata={"dagster/row_count": len(loaded.passages), "documents": report["documents"],
                           **{k: v for k, v in report.items() if k.startswith("skipped")}})
    yield Output(loaded.queries, "queries",
                 metadata={"dagster/row_count": len(loaded.queries), **report,
                           **{f"{s}_queries": n for s, n in sorted(splits.items())}, **settings})
    yield checks.passages_check(loaded.passages)
    yield checks.queries_check(loaded.queries)


def corpus_summary(loaded, splits: Counter) -> str:
    """One line of what the run works on: `3027 passages in 799 documents; 1984 questions (train 1441,
    dev 171, test 372), 1890 with gold evidence, 1984 with reference answers`."""
    report = loaded.report
    docs = ("each its own document" if report.documents == len(loaded.passages)
            else f"in {report.documents} documents")
    by_split = ", ".join(f"{s} {splits.get(s, 0)}" for s in ("train", "dev", "test"))
    return (f"{len(loaded.passages)} passages {docs}; {len(loaded.queries)} questions ({by_split}), "
            f"{report.queries_with_gold} with gold evidence, {report.queries_with_answers} with reference answers")
