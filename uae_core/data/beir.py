"""Format `beir`: a folder in the BEIR layout (corpus.jsonl, queries.jsonl, qrels/{train,dev,test}.tsv).

- Passages: each corpus.jsonl line `{"_id", "title", "text"}` is one passage. BEIR has no document
  grouping, so doc_id is the passage's own id unless the line has a `doc_id`. The title goes into
  `section` and, as BEIR's own evaluators do, in front of the text: `title + " " + text`, so that our
  retrieval numbers compare with published BEIR ones.
- Questions: each queries.jsonl line `{"_id", "text"}`; BEIR has no reference answers (answers=()),
  gold = the corpus ids a qrels line gives a score > 0 (score 0 lines are counted, not gold).
- Splits: when qrels/train.tsv exists, a question's split is BEIR's own, from the qrels file that names it
  (a question in several: test wins over dev over train, so nothing trained on is evaluated; counted).
  Without a dev.tsv, the train questions whose hash falls in the dev share form dev (model selection needs
  one). Without a train.tsv (e.g. a test-only set such as TREC-COVID), every question is split by the
  hash of its id, as in the other formats, because training needs train questions; the gold of all qrels
  files present is used either way. Questions named in no qrels file are kept (no gold), split by hash.
- qrels lines are `query-id<TAB>corpus-id<TAB>score`; a header line is recognised by its non-numeric
  score. Other .tsv files in qrels/ are not read (counted as `qrels_files_ignored`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from uae_core.data.records import CorpusBuilder, get_id, get_text, read_jsonl
from uae_core.data.schema import Corpus, DataFormatError, LoadOptions, Split
from uae_core.data.splits import split_for_document

QRELS_SPLITS: tuple[Split, ...] = ("train", "dev", "test")
QRELS_COLUMNS = ("query-id", "corpus-id", "score")


def read_qrels(path: Path) -> list[tuple[str, str, float]]:
    """(query id, corpus id, score) per line; errors name the file, the line and the column."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        cols = [c.strip() for c in line.rstrip("\r").split("\t")]
        if len(cols) < 3:
            raise DataFormatError(path, str(n), QRELS_COLUMNS[len(cols)],
                                  f"expected 3 tab-separated columns ({', '.join(QRELS_COLUMNS)}), got {len(cols)}",
                                  "line")
        try:
            score = float(cols[2])
        except ValueError:
            if n == 1:  # the header line, `query-id corpus-id score`
                continue
            raise DataFormatError(path, str(n), "score", f"expected a number, got {cols[2]!r}", "line") from None
        for name, value in zip(QRELS_COLUMNS, cols):
            if not value:
                raise DataFormatError(path, str(n), name, "empty", "line")
        rows.append((cols[0], cols[1], score))
    return rows


def load_beir(path: str | Path, options: LoadOptions = LoadOptions()) -> Corpus:
    """Passages from corpus.jsonl, questions from queries.jsonl, gold and splits from qrels/ (see above)."""
    folder = Path(path)
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (folder / name).is_file():
            raise DataFormatError(folder, None, None, f"no {name}: a BEIR folder holds corpus.jsonl, "
                                                      "queries.jsonl and qrels/*.tsv")
    builder = CorpusBuilder(options)
    for rec in read_jsonl(folder / "corpus.jsonl"):
        pid = get_id(rec, "_id")
        title = (get_text(rec, "title", required=False) or "").strip()
        text = " ".join(t for t in (title, get_text(rec, "text").strip()) if t)
        builder.add_passage(pid, get_id(rec, "doc_id", required=False) or pid, title, text, rec, "_id")

    qrels_dir = folder / "qrels"
    qrels_files = sorted(qrels_dir.glob("*.tsv")) if qrels_dir.is_dir() else []
    present = {f.stem: f for f in qrels_files if f.stem in QRELS_SPLITS}
    if len(present) < len(qrels_files):
        builder.report.skipped["qrels_files_ignored"] += len(qrels_files) - len(present)
    gold: dict[str, list[str]] = defaultdict(list)
    named_in: dict[str, list[Split]] = defaultdict(list)
    for split in QRELS_SPLITS:
        if split not in present:
            continue
        for qid, pid, score in read_qrels(present[split]):
            if split not in named_in[qid]:
                named_in[qid].append(split)
            if score > 0:
                gold[qid].append(pid)
            else:
                builder.report.skipped["qrels_not_relevant"] += 1
    beir_splits = "train" in present

    known = set()
    for rec in read_jsonl(folder / "queries.jsonl"):
        qid = get_id(rec, "_id")
        known.add(qid)
        split = None
        if beir_splits and named_in.get(qid):
            split = named_in[qid][-1]  # QRELS_SPLITS order: test over dev over train
            if len(named_in[qid]) > 1:
                builder.report.skipped["qrels_split_conflicts"] += 1
            if split == "train" and "dev" not in present and split_for_document(qid, options) == "dev":
                split = "dev"
        builder.add_query(rec, qid, "", get_text(rec, "text"), (), gold.get(qid, ()), split, "_id")
    unknown = sum(1 for qid in named_in if qid not in known)
    if unknown:
        builder.report.skipped["qrels_unknown_queries"] += unknown
    return builder.corpus(folder / "corpus.jsonl")
