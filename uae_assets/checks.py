"""Asset checks: what must hold of each asset's value, shown in the UI beside the asset (Checks tab).

Each check is declared on its asset (`check_specs=`) and computed from the value the asset just made, so it
costs no second load. Blocking checks (ERROR) stop the run's downstream steps when they fail; the others
are warnings that say something is likely wrong with the data.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec

from uae_core.data import Passage, Query

GOLD_IN_CANDIDATES_FLOOR = 0.3  # below it, most questions' useful passage is never shown to the teacher


def spec(asset: str, name: str, description: str, blocking: bool = False) -> AssetCheckSpec:
    return AssetCheckSpec(name, asset=asset, description=description, blocking=blocking)


PASSAGES = [spec("passages", "non_empty_unique_ids", "At least one passage, and no passage id twice.", True)]
QUERIES = [spec("queries", "gold_in_every_split",
                "Where the domain has gold evidence, the dev and test splits have questions with it (promotion "
                "and eval_report need them).")]
CANDIDATE_SETS = [spec("candidate_sets", "gold_in_candidates",
                       f"Gold evidence is among the candidates for at least {GOLD_IN_CANDIDATES_FLOOR:.0%} of the "
                       "questions that have gold (else the teacher rarely sees a useful passage).")]
UTILITY_LABELS = [spec("utility_labels", "labels_cover_candidates",
                       "Every candidate pair of a labelable question has a label, and every utility is finite.",
                       True)]
UAE_ENCODER = [spec("uae_encoder", "not_worse_than_champion",
                    "The version is the champion, or scores at least the champion's dev metric; a worse version "
                    "does not get an index or a report.", True)]
FAISS_INDEX = [spec("faiss_index", "index_covers_passages", "The index holds exactly one row per passage.", True)]


def passages_check(passages: Sequence[Passage]) -> AssetCheckResult:
    counts = Counter(p.passage_id for p in passages)
    duplicates = [pid for pid, n in counts.items() if n > 1]
    return AssetCheckResult(asset_key="passages", check_name="non_empty_unique_ids",
                            passed=bool(passages) and not duplicates,
                            metadata={"passages": len(passages), "duplicate_ids": len(duplicates),
                                      "first_duplicates": ", ".join(duplicates[:5])})


def queries_check(queries: Sequence[Query]) -> AssetCheckResult:
    with_gold = Counter(q.split for q in queries if q.gold_passage_ids)
    expected = bool(with_gold)
    missing = [s for s in ("dev", "test") if expected and not with_gold.get(s)]
    return AssetCheckResult(asset_key="queries", check_name="gold_in_every_split", passed=not missing,
                            severity=AssetCheckSeverity.WARN,
                            metadata={**{f"{s}_with_gold": with_gold.get(s, 0) for s in ("train", "dev", "test")},
                                      "splits_without_gold": ", ".join(missing) or "none"})


def candidates_check(gold_recall: float) -> AssetCheckResult:
    passed = math.isnan(gold_recall) or gold_recall >= GOLD_IN_CANDIDATES_FLOOR
    return AssetCheckResult(asset_key="candidate_sets", check_name="gold_in_candidates", passed=passed,
                            severity=AssetCheckSeverity.WARN,
                            metadata={"gold_in_candidates": None if math.isnan(gold_recall) else round(gold_recall, 4),
                                      "floor": GOLD_IN_CANDIDATES_FLOOR})


def labels_check(expected_pairs: int, labeled: dict[str, dict[str, float]]) -> AssetCheckResult:
    values = [u for per_q in labeled.values() for u in per_q.values()]
    non_finite = sum(not math.isfinite(u) for u in values)
    return AssetCheckResult(asset_key="utility_labels", check_name="labels_cover_candidates",
                            passed=len(values) == expected_pairs and non_finite == 0,
                            metadata={"expected_pairs": expected_pairs, "labeled_pairs": len(values),
                                      "non_finite": non_finite})


def champion_check(is_champion: bool, metric: str, score: float | None, champion_score: float | None,
                   blocking: bool = True) -> AssetCheckResult:
    passed = is_champion or champion_score is None or (score is not None and score >= champion_score)
    shown = "not measured" if score is None else f"{score:.4f}"
    if champion_score is None:
        description = f"no champion yet: dev {metric} {shown}"
    else:
        description = (f"dev {metric} {shown} vs the champion's {champion_score:.4f}"
                       + ("" if passed else ": worse, so faiss_index and eval_report keep the champion"))
    return AssetCheckResult(asset_key="uae_encoder", check_name="not_worse_than_champion", passed=passed,
                            severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
                            description=description,
                            metadata={"metric": metric, "dev_score": score, "champion_dev_score": champion_score,
                                      "is_champion": is_champion})


def index_check(index_rows: int, passages: int) -> AssetCheckResult:
    return AssetCheckResult(asset_key="faiss_index", check_name="index_covers_passages",
                            passed=index_rows == passages, metadata={"index_rows": index_rows, "passages": passages})
