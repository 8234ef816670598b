"""The catalogue of bad inputs and faults a tough new user meets, each with what `uae` must answer: the exit
code and fragments of its one-line error (file, record, field, what to do). Shared by the catalogue test
(tests/reliability/test_catalogue.py) and the page it documents (bench/reliability.py -> docs/reliability.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.helpers import answer, make_paper, make_qa, synthetic_qasper
from tests.reliability.world import World


@dataclass(frozen=True)
class Case:
    name: str
    what: str  # the mistake, as a user would make it
    args: Callable[[World], list[str]]
    code: int  # expected exit code
    fragments: tuple[str, ...]  # must all appear in the error output
    setup: Callable[[World], None] = field(default=lambda w: None)


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
         ("domain 'tiny'", "'test' split has 0 questions", "split fractions")),
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
]
