"""The catalogue of bad inputs and faults a tough new user meets, each with what `uae` must answer: the exit
code and fragments of its one-line error (file, record, field, what to do). Shared by the catalogue test
(tests/reliability/test_catalogue.py) and the page it documents (bench/reliability.py -> docs/reliability.md)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import REPO, answer, make_paper, make_qa, synthetic_qasper
from tests.reliability.world import World


@dataclass(frozen=True)
class Case:
    name: str
    what: str  # the mistake, as a user would make it
    args: Callable[[World], list[str]]
    code: int  # expected exit code
    fragments: tuple[str, ...]  # must all appear in the error output
    # prepares the world; may return a callable the test calls after the command (it asserts what must hold
    # beyond the stored state, e.g. that a file outside the data folder is untouched, and cleans up)
    setup: Callable[[World], Callable[[], None] | None] = field(default=lambda w: None)
    slow: bool = False  # runs part of the pipeline (> 5 s)


def _domains(world: World, body: str, name: str = "domains-case.yaml") -> None:
    world.overrides["UAE_DOMAINS"] = str(world.write(name, body))


def _file(world: World, name: str, obj) -> str:
    return str(world.write(name, obj if isinstance(obj, str) else json.dumps(obj)))


def _domain_with(world: World, name: str, obj) -> list[str]:
    path = _file(world, f"{name}.json", obj)
    _domains(world, f"domains:\n  {name}:\n    path: {path}\n")
    return ["materialize", "--domain", name, "--config", str(world.run_config())]


def _duplicate_question_ids() -> dict:
    papers = synthetic_qasper(12)
    papers["paper-003"]["qas"][0]["question_id"] = "p1-q0"  # paper-001's first question id
    return papers


def _unanswerable_only() -> dict:
    qa = make_qa("q", "Is it?", answer(unanswerable=True))
    return {f"p{i}": make_paper([f"Paragraph {i}."], [{**qa, "question_id": f"q{i}"}]) for i in range(20)}


def _victim(world: World) -> Callable[[], None]:
    """A folder outside the data folder that a path escape would reach (`<world>/victim/1`, four levels up
    from the model cache's `uae-encoder-good/`); the returned check asserts it is untouched."""
    victim = world.root / "victim" / "1"
    victim.mkdir(parents=True, exist_ok=True)
    (victim / "precious.txt").write_text("keep me")

    def untouched() -> None:
        assert (victim / "precious.txt").read_text() == "keep me", "the victim folder was changed"
    return untouched


def _yaml_config(world: World, name: str, **ops) -> str:
    """The world's run config as YAML, so that `.nan` and `.inf` reach Dagster as floats (JSON has none)."""
    import yaml

    config = json.loads(world.run_config(**ops).read_text())
    return str(world.write(name, yaml.safe_dump(config)))


def _no_run_left_running(world: World) -> Callable[[], None]:
    def check() -> None:
        from mlflow import MlflowClient
        from mlflow.entities import ViewType

        uri = f"sqlite:///{world.root / 'data' / 'mlflow' / 'mlflow.db'}"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
        running = client.search_runs(ids, "attributes.status = 'RUNNING'")
        assert not running, [r.info.run_id for r in running]
        failed = client.search_runs(ids, "tags.failure LIKE '%training diverged%'")
        assert failed and all(r.info.status == "FAILED" for r in failed)
    return check


def _hold_run_lock(world: World, domain: str = "good") -> Callable[[], None]:
    """Another process holds the domain's run lock (as a `uae materialize` in progress does) until the
    returned callable ends it (at most 120 s)."""
    code = ("import sys, time; from uae_assets.run_lock import domain_run_lock\n"
            "with domain_run_lock(sys.argv[1], sys.argv[2]):\n    print('held', flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(world.root / "dh" / "locks"), domain], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"

    def release() -> None:
        holder.kill()
        holder.wait(timeout=30)
    return release


def pickled_student(student, dst):
    """A copy of the student with its weights as pytorch_model.bin (a pickle) instead of model.safetensors."""
    import shutil

    import torch
    from safetensors.torch import load_file

    if not dst.exists():
        shutil.copytree(student, dst)
        torch.save(load_file(dst / "model.safetensors"), dst / "pytorch_model.bin")
        (dst / "model.safetensors").unlink()
    return dst


CASES: list[Case] = [
    Case("unknown_domain", "`--domain` names no domain", lambda w: ["materialize", "--domain", "nope"], 2,
         ("unknown domain 'nope'", "good")),
    Case("domains_bad_yaml", "domains.yaml is not valid YAML",
         lambda w: ["materialize"], 2, ("domains-case.yaml", "not valid YAML"),
         lambda w: _domains(w, "domains: [unclosed\n")),
    Case("help_with_bad_domains", "`uae --help` while domains.yaml is broken", lambda w: ["--help"], 0,
         ("materialize",),
         lambda w: _domains(w, "domains: [unclosed\n")),
    Case("domain_name_slash", "a domain named `a/b` (it would become a path)", lambda w: ["materialize"], 2,
         ("domains-case.yaml", "'a/b' is not allowed"), lambda w: _domains(w, "domains:\n  a/b:\n    path: x.json\n")),
    Case("domain_name_dotdot", "a domain named `../x`", lambda w: ["materialize"], 2, ("'../x' is not allowed",),
         lambda w: _domains(w, "domains:\n  ../x:\n    path: x.json\n")),
    Case("domain_path_list", "`path: [a.json, b.json]` (it printed the QASPER download hint)",
         lambda w: ["materialize"], 2, ("domains-case.yaml", "field 'path': one file or folder, got a list"),
         lambda w: _domains(w, "domains:\n  two:\n    path: [a.json, b.json]\n")),
    Case("domain_bad_scope", "scope `everywhere`", lambda w: ["materialize"], 2,
         ("domain 'd'", "field 'scope'", "everywhere"),
         lambda w: _domains(w, "domains:\n  d:\n    path: x.json\n    scope: everywhere\n")),
    Case("domain_unknown_field", "a misspelled field (`paht:`)", lambda w: ["materialize"], 2,
         ("domain 'd'", "unknown field", "paht"),
         lambda w: _domains(w, "domains:\n  d:\n    path: x.json\n    paht: y.json\n")),
    Case("domain_missing_source", "the domain's file does not exist", lambda w: ["materialize", "--domain", "gone"], 2,
         ("domain 'gone'", "nowhere.json", "does not exist"),
         lambda w: _domains(w, f"domains:\n  gone:\n    path: {w.root / 'nowhere.json'}\n")),
    Case("config_missing", "`--config` names a missing file", lambda w: ["materialize", "--config", "nowhere.yaml"], 2,
         ("nowhere.yaml", "no such run config file")),
    Case("config_bad_yaml", "`--config` is not YAML",
         lambda w: ["materialize", "--config", _file(w, "bad.yaml", "ops: {candidate_sets: [")], 2,
         ("bad.yaml", "not valid YAML")),
    Case("config_is_a_list", "`--config` holds a list",
         lambda w: ["materialize", "--config", _file(w, "list.yaml", "- k: 3\n")], 2,
         ("list.yaml", "a run config is a mapping")),
    Case("k_negative", "`k: -1`", lambda w: ["materialize", "--config", str(w.run_config(candidate_sets={"k": -1}))], 2,
         ("ops.candidate_sets.config", "CandidateConfig.k", "at least 1")),
    Case("epochs_zero", "`epochs: 0` (it used to register the untrained model as champion)",
         lambda w: ["materialize", "--config", str(w.run_config(uae_encoder={"epochs": 0}))], 2,
         ("ops.uae_encoder.config", "TrainConfig.epochs")),
    Case("learning_rate_zero", "`learning_rate: 0`",
         lambda w: ["materialize", "--config", str(w.run_config(uae_encoder={"learning_rate": 0}))], 2,
         ("TrainConfig.learning_rate", "> 0")),
    Case("unknown_config_field", "a misspelled knob (`kk: 3`)",
         lambda w: ["materialize", "--config", str(w.run_config(candidate_sets={"kk": 3}))], 2,
         ("candidate_sets", "kk")),
    Case("bad_candidate_source", "`sources: [bm25, google]`",
         lambda w: ["materialize", "--config", str(w.run_config(candidate_sets={"sources": ["bm25", "google"]}))], 2,
         ("CandidateConfig.sources", "google")),
    Case("bad_eval_split", "eval_report `split: nonsense`",
         lambda w: ["materialize", "--config", str(w.run_config(eval_report={"split": "nonsense"}))], 2,
         ("EvalConfig.split", "nonsense")),
    Case("teacher_budget_zero", "teacher `max_passage_tokens: 0`",
         lambda w: ["materialize", "--config", _file(w, "teacher0.yaml", json.dumps(
             {"resources": {"teacher": {"config": {"max_passage_tokens": 0}}}}))], 2,
         ("resources.teacher.config", "max_passage_tokens")),
    Case("duplicate_question_ids", "two papers use the same question id",
         lambda w: _domain_with(w, "dup", _duplicate_question_ids()), 2,
         ("dup.json", "paper 'paper-003'", "question_id", "also used by paper 'paper-001'")),
    Case("paragraph_not_text", "a paragraph that is a number",
         lambda w: _domain_with(w, "broken", {"paper-9": {"full_text": [{"paragraphs": ["ok", 7]}], "qas": []}}), 2,
         ("broken.json", "paper 'paper-9'", "full_text[0].paragraphs[1]", "expected str, got int")),
    Case("no_answerable_question", "a file with no answerable question",
         lambda w: _domain_with(w, "silent", _unanswerable_only()), 2,
         ("domain 'silent'", "no question in the train split", "questions_without_usable_answer")),
    Case("empty_test_split", "a domain too small to have test questions",
         lambda w: _domain_with(w, "tiny", synthetic_qasper(2)), 2,
         ("domain 'tiny'", "'test' split has 0 questions", "split fractions", "own `split` field wins")),
    Case("evaluate_missing_model_dir", "`uae evaluate --model ./nope`",
         lambda w: ["evaluate", "--model", "./nope", "--data", str(w.root / "good.json")], 2,
         ("--model ./nope", "no such directory")),
    Case("evaluate_unknown_registered_model", "`--model models:/uae-encoder-nope@champion`",
         lambda w: ["evaluate", "--model", "models:/uae-encoder-nope@champion", "--data", str(w.root / "good.json")],
         2, ("models:/uae-encoder-nope@champion", "not in the model registry", "uae-encoder-good")),
    Case("evaluate_missing_data", "`--data` names a missing file",
         lambda w: ["evaluate", "--model", "base", "--data", "nowhere.json"], 2,
         ("--data nowhere.json", "no such file")),
    Case("evaluate_not_json", "`--data` is not JSON",
         lambda w: ["evaluate", "--model", "base", "--data", _file(w, "notes.json", "hello")], 2,
         ("notes.json", "cannot tell its data format")),
    Case("evaluate_bad_split", "`--split nonsense`",
         lambda w: ["evaluate", "--model", "base", "--data", "x.json", "--split", "nonsense"], 2,
         ("invalid choice: 'nonsense'",)),
    Case("watched_file_not_qasper", "a JSON file in the watched folder that is not QASPER",
         lambda w: ["materialize", "--domain", "notes"], 2, ("watched", "notes.json", "QASPER layout"),
         lambda w: _file(w, "data/domains_inbox/notes.json", {"not": "qasper"})),
    Case("search_without_champion", "`uae search` before any run of the domain",
         lambda w: ["search", "what?", "--domain", "fresh"], 2, ("domain 'fresh' has no champion model yet",),
         lambda w: _domains(w, f"domains:\n  fresh:\n    path: {w.root / 'good.json'}\n")),
    Case("runs_without_runs", "`uae runs` for a domain never trained", lambda w: ["runs", "--domain", "fresh"], 2,
         ("no training runs for domain 'fresh'",),
         lambda w: _domains(w, f"domains:\n  fresh:\n    path: {w.root / 'good.json'}\n")),
    Case("export_into_non_empty_folder", "`uae export` into a folder that has files",
         lambda w: ["export", str(w.root)], 2, ("exists and is not empty",)),
    Case("search_bad_k", "`uae search --k 0`", lambda w: ["search", "what?", "--k", "0"], 2, ("k must be at least 1",)),
    Case("version_path_escape", "`uae search --version ../../../../victim/1` (it deleted that folder)",
         lambda w: ["search", "what?", "--version", "../../../../victim/1"], 2,
         ("--version '../../../../victim/1'", "expected a registered version number"), _victim),
    Case("export_version_path_escape", "`uae export DIR --version ../../../../victim/1`",
         lambda w: ["export", str(w.root / "exported-escape"), "--version", "../../../../victim/1"], 2,
         ("--version '../../../../victim/1'", "expected a registered version number"), _victim),
    Case("version_unknown", "`uae search --version 99` (no such version)",
         lambda w: ["search", "what?", "--version", "99"], 2,
         ("--version 99", "uae-encoder-good has no such version or alias")),
    Case("version_unknown_alias", "`uae export DIR --version best` (no such alias)",
         lambda w: ["export", str(w.root / "exported-alias"), "--version", "best"], 2,
         ("--version best", "no such version or alias")),
    Case("domain_flag_dotdot", "`uae materialize --domain ../../victim` (a path as a domain)",
         lambda w: ["materialize", "--domain", "../../victim"], 2, ("'../../victim' is not allowed",),
         lambda w: (_file(w, "victim.json", {"not": "yours"}), None)[1]),
    Case("search_empty_question", "`uae search \"\"`", lambda w: ["search", ""], 2, ("the question is empty",)),
    Case("search_blank_question", "`uae search \"   \"`", lambda w: ["search", "   "], 2,
         ("the question is empty",)),
    Case("serve_port_out_of_range", "`uae serve --port 99999`", lambda w: ["serve", "--port", "99999"], 2,
         ("--port 99999", "from 1 to 65535")),
    Case("serve_port_zero", "`uae serve --port 0`", lambda w: ["serve", "--port", "0"], 2, ("--port 0",)),
    Case("learning_rate_inf", "`learning_rate: .inf` (it trained a NaN model and made it champion)",
         lambda w: ["materialize", "--config", _yaml_config(w, "lr-inf.yaml", uae_encoder={"learning_rate": math.inf})],
         2, ("ops.uae_encoder.config", "TrainConfig.learning_rate", "must be a finite number, got inf")),
    Case("margin_nan", "`margin: .nan` (passed the config check)",
         lambda w: ["materialize", "--config", _yaml_config(w, "margin-nan.yaml", uae_encoder={"margin": math.nan})],
         2, ("TrainConfig.margin", "must be a finite number, got nan")),
    Case("training_diverges", "`learning_rate: 1e308`: the loss becomes NaN while training",
         lambda w: ["materialize", "--config", _yaml_config(w, "lr-huge.yaml", uae_encoder={"learning_rate": 1e308})],
         1,
         ("training loss is nan at step", "lower learning_rate (1e+308)"), _no_run_left_running, slow=True),
    Case("runs_limit_zero", "`uae runs --limit 0`", lambda w: ["runs", "--limit", "0"], 2,
         ("--limit 0", "at least 1")),
    Case("evaluate_out_is_a_file", "`uae evaluate --out EXISTING_FILE` (failed after the whole evaluation)",
         lambda w: ["evaluate", "--model", "base", "--data", str(w.root / "good.json"), "--out",
                    str(w.root / "good.json")], 2, ("--out", "good.json: exists and is a file")),
    Case("evaluate_pickle_only_student", "`uae evaluate --model DIR` of a student saved as pytorch_model.bin (a "
         "pickle, which runs code when loaded)",
         lambda w: ["evaluate", "--model", str(pickled_student(w.student, w.root / "pickled")), "--data",
                    str(w.root / "good.json")], 2,
         ("pickled: student weights only as a pickle (pytorch_model.bin)", "UAE_ALLOW_PICKLE=1")),
    Case("select_nonsense", "`uae materialize --select nonsense` (Dagster stack traces)",
         lambda w: ["materialize", "--select", "nonsense"], 2,
         ("--select nonsense: not an asset of the graph", "candidate_sets")),
    Case("select_without_inputs", "`uae materialize --select uae_encoder` on a domain never run (stack traces)",
         lambda w: ["materialize", "--domain", "fresh", "--select", "uae_encoder"], 2,
         ("uae_encoder needs candidate_sets, passages, queries, raw_corpus, utility_labels",
          "not materialized yet for domain 'fresh'"),
         lambda w: _domains(w, f"domains:\n  fresh:\n    path: {w.root / 'good.json'}\n")),
]


def _damage(world: World, rel: str, how: Callable[[Path], None]) -> Callable[[], None]:
    """Damage a stored file (`how` gets its path) after keeping a copy; the returned callable restores it."""
    path = world.root / "data" / rel
    backup = path.with_name(path.name + ".test-backup")
    shutil.copy2(path, backup) if path.is_file() else shutil.copytree(path, backup)
    how(path)

    def restore() -> None:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        backup.rename(path)
    return restore


def _truncate_cached_model(world: World) -> Callable[[], None]:
    """Cut the registry copy's model.safetensors short, as a full disk or a killed copy would."""
    with (world.root / "data" / CACHED_MODEL).open("r+b") as f:
        f.truncate(100)
    return lambda: shutil.rmtree(world.root / "exported-damaged", ignore_errors=True)


def _hide_model_files(world: World) -> Callable[[], None]:
    """Move the registered model's files out of the MLflow artifact store and the local registry copy, as a
    cleaned-up or moved artifact folder leaves them; the returned callable puts them back."""
    data = world.root / "data"
    moved = [(data / "mlflow" / "artifacts" / "uae-good" / "models", world.root / "aside-artifacts"),
             (data / "models" / "registry" / "uae-encoder-good", world.root / "aside-registry")]
    for src, dst in moved:
        src.rename(dst)

    def restore() -> None:
        for src, dst in moved:
            dst.rename(src)
        shutil.rmtree(world.root / "exported-missing", ignore_errors=True)
    return restore


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00not a database" * 64)


def _drop_last_line(path: Path) -> None:
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))


# Faults in what is stored, and a held lock: each setup changes the world and returns the callable that
# undoes it (the test calls it before comparing the stored state). Not in CASES: bench/reliability.py runs
# CASES without calling it. Their outcomes are in docs/reliability.md by hand.
V1 = "indexes/good/v1"
CACHED_MODEL = "models/registry/uae-encoder-good/1/model.safetensors"
FAULTS: list[Case] = [
    Case("materialize_while_another_holds_the_lock", "a second `uae materialize` started while the first holds "
         "the domain (two started in the same second both ran)",
         lambda w: ["materialize", "--config", str(w.run_config())], 2,
         ("domain 'good' has a run in progress", "started by `uae materialize`, pid", "wait for it"),
         _hold_run_lock),
    Case("corrupt_labels_file", "labels.duckdb is not a DuckDB file (a raw DuckDB trace, no advice)",
         lambda w: ["materialize", "--config", str(w.run_config())], 2,
         ("labels.duckdb: not a readable DuckDB labels file", "move it aside (mv ", "labels.duckdb.broken"),
         lambda w: _damage(w, "labels.duckdb", _garbage)),
    Case("broken_retriever_json", "retriever.json is not JSON (the file was not named)",
         lambda w: ["search", "what?"], 2,
         ("v1/retriever.json: not a retriever description", "rebuild it (uae materialize --domain DOMAIN)"),
         lambda w: _damage(w, f"{V1}/retriever.json", lambda p: p.write_text("{"))),
    Case("passages_shorter_than_index", "passages.jsonl lost its last line (IndexError)",
         lambda w: ["search", "what?"], 2, ("v1/passages.jsonl: 89 passages, but retriever.json says 90",),
         lambda w: _damage(w, f"{V1}/passages.jsonl", _drop_last_line)),
    Case("bm25_without_index_faiss", "index.faiss deleted, `--system bm25` (it failed too)",
         lambda w: ["search", "What accuracy is measured in paper 3?", "--system", "bm25"], 0, ("1. paper-",),
         lambda w: _damage(w, f"{V1}/index.faiss", Path.unlink)),
    Case("truncated_cached_model", "the registry copy's model.safetensors truncated (\"invalid header length\", "
         "the file not named, never re-verified)",
         lambda w: ["export", str(w.root / "exported-damaged")], 0,
         (f"{CACHED_MODEL}: differs from the copy downloaded from models:/uae-encoder-good/1", "downloading it again",
          "exported-damaged (load it with"),
         _truncate_cached_model),
    Case("missing_mlflow_artifacts", "the registered model's files gone from the MLflow artifact store "
         "(\"Unrecognized model\")",
         lambda w: ["export", str(w.root / "exported-missing")], 2,
         ("models:/uae-encoder-good/1:", "MLflow artifact store", "restore the MLflow artifact store, or run "
          "`uae materialize`"),
         _hide_model_files),
    Case("uae_without_index_faiss", "index.faiss deleted, `--system uae`",
         lambda w: ["search", "what?", "--system", "uae"], 2,
         ("v1/index.faiss is missing, so only --system bm25 can answer",),
         lambda w: _damage(w, f"{V1}/index.faiss", Path.unlink)),
]
