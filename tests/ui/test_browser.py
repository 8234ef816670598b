"""What a user must see in the Dagster and MLflow UIs after `uae materialize`, checked in a real browser.

One world (tiny random models, a synthetic domain `good`) is materialized with the CLI; then
`dagster-webserver -w workspace.yaml` and `mlflow ui` serve it on free local ports, and the system Chromium
(Playwright, no browser download) opens the views as a user would: by URL and by clicks, waiting for text.
Every view is saved as a screenshot into $UAE_SCREENSHOTS (default: this module's tmp dir), before its
assertions, so a failing view still leaves its picture. `UAE_SCREENSHOTS=docs .venv/bin/python -m pytest
tests/ui` refreshes the README's screenshots.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from tests.helpers import REPO, synthetic_qasper
from tests.reliability.world import World
from tests.ui.browser import CHROMIUM, Screenshots, Server, chromium, dagster_webserver, free_port, mlflow_ui

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install -y "
                                 "chromium chromium-driver; .ci/run installs it)")]

WAIT_MS = 60_000  # a 2-core machine shared with long jobs: the UIs can take a while to answer


@dataclass
class UI:
    world: World
    dagster: Server
    mlflow: Server
    run_id: str  # the Dagster run the CLI launched
    mlflow_run_id: str  # the training run that logged and registered the model
    experiment_id: str
    shots: Screenshots

    @property
    def mlflow_run_url(self) -> str:
        return f"{self.mlflow.url}/#/experiments/{self.experiment_id}/runs/{self.mlflow_run_id}"


@pytest.fixture(scope="module")
def ui(tmp_path_factory, materialized_world):
    """The session's materialized world (conftest.py), served by dagster-webserver and `mlflow ui`."""
    root = tmp_path_factory.mktemp("ui")
    world, run_id = materialized_world.world, materialized_world.run_id
    report = json.loads((world.root / "data" / "reports" / "good" / "eval_report.json").read_text())

    from mlflow import MlflowClient

    db = world.root / "data" / "mlflow" / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{db}", registry_uri=f"sqlite:///{db}")
    experiment_id = client.get_experiment_by_name("uae-good").experiment_id

    dagster = dagster_webserver(world.env, free_port(), root / "dagster-webserver.log")
    mlflow = mlflow_ui(db, world.env, materialized_world.mlflow_ui_port, root / "mlflow-ui.log")
    try:
        started = time.monotonic()
        dagster.wait_until_answers("/server_info", timeout=300)
        mlflow.wait_until_answers("/health", timeout=300)
        print(f"servers answer after {time.monotonic() - started:.0f} s")
        yield UI(world, dagster, mlflow, run_id, report["mlflow_run_id"], experiment_id,
                 Screenshots(root / "screenshots"))
    finally:
        dagster.stop()
        mlflow.stop()


@pytest.fixture
def page(ui, tmp_path):
    """A new page in a fresh browser profile (nothing remembered from another test)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with chromium(tmp_path / "profile") as context:
        yield context.new_page()


def close_mlflow_assistant(page) -> None:
    """MLflow 3 opens its Assistant panel on a first visit, a moment after the page; a user closes it to see
    the page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    new_chat = page.get_by_role("button", name="New Chat", exact=True)  # only the Assistant's header has it
    try:
        new_chat.wait_for(timeout=15_000)
    except PlaywrightTimeout:
        return
    new_chat.locator("xpath=..").get_by_role("button", name="Close", exact=True).click()
    new_chat.wait_for(state="hidden")


def scroll_to_top(locator) -> None:
    """Scroll the page so that this element is at the top of the view (for the screenshot)."""
    locator.evaluate("e => e.scrollIntoView({block: 'start', inline: 'nearest'})")


# Dagster


def check_item(page, name: str):
    """A check in the asset's Checks list: its name (in a truncating box titled with the name) and status."""
    return page.locator("span", has=page.get_by_title(name, exact=True)).first


def test_job_runs_tab_lists_the_cli_run(ui, page):
    """Jobs > uae_pipeline > Runs: the run `uae materialize` launched, as the job's run, succeeded."""
    from playwright.sync_api import expect

    page.goto(f"{ui.dagster.url}/jobs")
    page.get_by_role("link", name="uae_pipeline").first.click()
    page.get_by_role("tab", name="Runs").click()
    expect(page).to_have_url(re.compile(r"/jobs/uae_pipeline/runs"))
    link = page.locator(f'a[href="/runs/{ui.run_id}"]').first
    expect(link).to_be_visible()
    row = page.locator("div", has=link).filter(has_text="Manually launched").last  # the run's row
    expect(row).to_contain_text("Success")
    ui.shots(page, "ui_dagster_job_runs")
    expect(row).to_contain_text("uae_pipeline")
    expect(row).to_contain_text("partition: good")
    expect(row).to_contain_text("uae/trigger: uae materialize")


def test_run_page_shows_its_run_config(ui, page):
    """The run's page: status, job, partition; "View tags and config" shows the run config YAML, with the
    domain's own setting (lam, from domains.yaml) beside the --config file's."""
    from playwright.sync_api import expect

    page.goto(f"{ui.dagster.url}/runs/{ui.run_id}")
    expect(page.get_by_text("Run of", exact=False).first).to_contain_text("uae_pipeline")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
    page.get_by_role("button", name="View tags and config").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Run configuration")
    ui.shots(page, "ui_dagster_run_config")
    for text in ("partition: good", "uae/trigger: uae materialize", "candidate_sets:", "k: 3", "uae_encoder:",
                 "epochs: 1", "block_if_worse: false", "lam: 0.6", "teacher:", "student:"):
        expect(dialog).to_contain_text(text)


def test_asset_checks_show_with_their_status(ui, page):
    """uae_encoder's Checks tab: not_worse_than_champion, blocking, passed with its metadata; utility_labels'
    labels_cover_candidates passed."""
    from playwright.sync_api import expect

    page.goto(f"{ui.dagster.url}/assets/uae_encoder")
    page.get_by_role("tab", name="Checks").click()
    expect(page).to_have_url(re.compile(r"view=checks"))
    expect(check_item(page, "not_worse_than_champion")).to_contain_text("Succeeded")
    expect(page.get_by_text("blocking", exact=True)).to_be_visible()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="is_champion", exact=True)).to_be_visible()
    ui.shots(page, "ui_dagster_asset_checks")

    page.goto(f"{ui.dagster.url}/assets/utility_labels?view=checks")
    expect(check_item(page, "labels_cover_candidates")).to_contain_text("Succeeded")
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="expected_pairs", exact=True)).to_be_visible()


def test_asset_metadata_links_to_the_mlflow_run(ui, page):
    """uae_encoder's metadata: `mlflow_run` and `mlflow_model` are links, the merge share chosen on dev is
    shown; clicking `mlflow_run` opens that training run in the MLflow UI."""
    from playwright.sync_api import expect

    page.goto(f"{ui.dagster.url}/assets/uae_encoder")
    run_link = page.get_by_role("link", name=ui.mlflow_run_url, exact=True)
    expect(run_link).to_be_visible()
    model_link = page.get_by_role("link", name=f"{ui.mlflow.url}/#/models/uae-encoder-good/versions/1", exact=True)
    expect(model_link).to_be_visible()
    expect(page.get_by_text("models:/uae-encoder-good/1", exact=True)).to_be_visible()
    for key in ("merge_share", "merge_dev_scores", "train_queries"):  # merge share, its dev scores, questions trained
        expect(page.get_by_text(key, exact=True)).to_be_visible()
    scroll_to_top(page.get_by_text("Metadata", exact=True).first)
    ui.shots(page, "ui_dagster_asset_metadata")
    with page.context.expect_page() as opened:
        run_link.click()
    mlflow_page = opened.value
    expect(mlflow_page).to_have_url(ui.mlflow_run_url)
    expect(mlflow_page.get_by_role("tab", name="Artifacts")).to_be_visible()
    expect(mlflow_page.get_by_text("good-uae").first).to_be_visible()  # the run's name


# MLflow


def test_experiment_opens_in_the_model_training_view(ui, page):
    """MLflow 3 starts in its GenAI view. A user who picks "Model training" in the sidebar, then Experiments >
    uae-good, gets the runs table with the training run; the experiment link in uae_encoder's metadata opens
    that same table directly."""
    from playwright.sync_api import expect

    page.goto(ui.mlflow.url)
    close_mlflow_assistant(page)
    page.get_by_text("Model training", exact=True).first.click()
    page.get_by_role("link", name="Experiments").first.click()
    page.get_by_role("link", name="uae-good", exact=True).click()
    expect(page).to_have_url(re.compile(rf"#/experiments/{ui.experiment_id}/runs"))
    close_mlflow_assistant(page)
    expect(page.get_by_text("Run Name", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="good-uae")).to_be_visible()
    page.wait_for_timeout(2000)  # let the view draw before the picture
    ui.shots(page, "ui_mlflow_experiment")

    page.goto(f"{ui.dagster.url}/assets/uae_encoder")
    experiment_link = f"{ui.mlflow.url}/#/experiments/{ui.experiment_id}/runs?workflowType=machine_learning"
    with page.context.expect_page() as opened:
        page.get_by_role("link", name=experiment_link, exact=True).click()
    runs_table = opened.value
    expect(runs_table).to_have_url(re.compile(rf"#/experiments/{ui.experiment_id}/runs"))
    expect(runs_table.get_by_role("link", name="good-uae")).to_be_visible()


def test_model_version_page_shows_the_signature(ui, page):
    """Registered model uae-encoder-good, version 1: alias champion, and the signature the
    sentence-transformers flavor recorded: a string in, a float32 embedding tensor out."""
    from playwright.sync_api import expect

    page.goto(f"{ui.mlflow.url}/#/models/uae-encoder-good/versions/1")
    close_mlflow_assistant(page)
    expect(page.get_by_text("Version 1", exact=True)).to_be_visible()
    expect(page.get_by_text("champion").first).to_be_visible()
    schema = page.get_by_text("Schema", exact=True)
    expect(schema).to_be_visible()
    for side in ("Inputs (1)", "Outputs (1)"):
        page.get_by_text(side, exact=True).click()
    inputs_type = page.get_by_text("string", exact=True)
    outputs_type = page.get_by_text(re.compile(r"^Tensor \(dtype: float32, shape: \[-1,\s*32\]\)$"))
    scroll_to_top(schema)
    ui.shots(page, "ui_mlflow_model_signature")
    expect(inputs_type).to_be_visible()
    expect(outputs_type).to_be_visible()


def test_training_run_shows_the_eval_artifacts(ui, page):
    """The training run's Artifacts tab: eval/ holds the report, the metrics table and the gains figure,
    which previews as an image."""
    from playwright.sync_api import expect

    page.goto(ui.mlflow_run_url)
    close_mlflow_assistant(page)
    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text("eval", exact=True).first.click()
    for name in ("test_gains.png", "test_metrics_table.json", "eval_report.json", "eval_report.md"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    page.get_by_text("test_gains.png", exact=True).first.click()
    expect(page.get_by_text("eval/test_gains.png", exact=True)).to_be_visible()
    preview = page.locator("img[src^='blob:']").first  # the downloaded file, shown as an image
    expect(preview).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    ui.shots(page, "ui_mlflow_run_artifacts")


def test_training_run_charts_the_merge_shares_scored_on_dev(ui, page):
    """The training run's Model metrics tab, searched for "merge": `merge_dev_score` (the dev score of each
    merge share tried, at step 100 x share) and `merge_share` (the one kept), as a user compares them."""
    from playwright.sync_api import expect

    page.goto(f"{ui.mlflow_run_url}/model-metrics")
    expect(page.get_by_text("dev_map", exact=True).first).to_be_visible()  # every chart, before the search
    close_mlflow_assistant(page)
    page.get_by_placeholder("Search metric charts").fill("merge")
    for name in ("merge_dev_score", "merge_share"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    expect(page.get_by_text("dev_map", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="New Chat", exact=True)).to_have_count(0)  # the Assistant is closed
    page.wait_for_timeout(1000)  # the charts draw after their titles
    ui.shots(page, "ui_mlflow_merge_metrics")


# Dagster, after the domain's file changed (this changes the world: keep these last)


def test_asset_graph_shows_the_chain(ui, page):
    """raw_corpus > Lineage, downstream, graph depth 7: the whole chain to eval_report."""
    from playwright.sync_api import expect

    page.goto(f"{ui.dagster.url}/assets/raw_corpus?view=lineage&lineageScope=downstream&lineageDepth=7")
    expect(page.get_by_text("eval_report", exact=True).last).to_be_visible()
    page.wait_for_timeout(2000)  # the graph animates its layout
    ui.shots(page, "ui_dagster_asset_graph")
    for name in ("raw_corpus", "passages", "queries", "candidate_sets", "utility_labels", "uae_encoder",
                 "faiss_index", "eval_report"):
        expect(page.get_by_text(name, exact=True).last).to_be_visible()


# What the domain sensor does each tick: record the domain file's new data version.
SYNC = ("import sys, json\nfrom dagster import DagsterInstance\nfrom uae_assets.resources import TeacherResource\n"
        "from uae_assets.sync import apply_sync, plan_sync\n"
        "instance = DagsterInstance.get()\n"
        "apply_sync(instance, plan_sync(instance, TeacherResource(**json.loads(sys.argv[1])), only=['good']))\n")


def test_changed_domain_file_marks_the_partition_unsynced(ui, page):
    """Six papers added to the domain's file and its new version recorded (what the domain sensor does each
    tick): raw_corpus's partition `good` shows Unsynced, the cause naming domain_file's new data version."""
    from playwright.sync_api import expect

    world = ui.world
    original = (world.root / "good.json").read_text()
    (world.root / "good.json").write_text(json.dumps(synthetic_qasper(36)))
    try:
        teacher = json.loads(world.run_config().read_text())["resources"]["teacher"]["config"]
        done = subprocess.run([sys.executable, "-c", SYNC, json.dumps(teacher)], env=world.env, cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

        page.goto(f"{ui.dagster.url}/assets/raw_corpus?view=partitions")
        page.get_by_text("good", exact=True).first.click()
        badge = page.get_by_text(re.compile(r"^Unsynced")).first
        expect(badge).to_be_visible()
        badge.hover()
        cause = page.get_by_text(re.compile(r"domain_file.*new data version|new data version.*domain_file"))
        expect(cause.first).to_be_visible()
        ui.shots(page, "ui_dagster_stale_partition")
    finally:  # the world is the session's (tests/serving reads good.json too)
        (world.root / "good.json").write_text(original)
