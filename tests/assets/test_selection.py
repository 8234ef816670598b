"""`uae materialize --select`: an unknown asset, or one whose inputs were never materialized for the
domain, is refused in one line before anything runs (Dagster would fail the run with a stack trace)."""

import pytest
from dagster import AssetMaterialization, DagsterInstance

from uae_assets.launch import SelectionError, check_selection


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as instance:
        yield instance


def test_an_unknown_asset_is_named_with_the_assets_there_are(instance):
    with pytest.raises(SelectionError, match=r"--select nonsense: not an asset of the graph; the assets: "
                                             r"candidate_sets, eval_report, faiss_index"):
        check_selection(instance, "alpha", ["raw_corpus", "nonsense"])


def test_an_asset_whose_inputs_were_never_materialized_names_them(instance):
    with pytest.raises(SelectionError) as error:
        check_selection(instance, "alpha", ["candidate_sets", "utility_labels"])
    assert str(error.value) == ("--select: candidate_sets needs passages, queries; utility_labels needs passages, "
                                "queries, not materialized yet for domain 'alpha'; add them to --select, or run "
                                "without --select")


def test_inputs_selected_or_stored_for_this_domain_pass(instance):
    check_selection(instance, "alpha", ["raw_corpus", "passages", "queries", "candidate_sets"])  # source parent
    for key in ("passages", "queries"):
        instance.report_runless_asset_event(AssetMaterialization(key, partition="alpha"))
    check_selection(instance, "alpha", ["candidate_sets"])
    with pytest.raises(SelectionError, match="candidate_sets needs passages, queries, not materialized yet for "
                                             "domain 'beta'"):
        check_selection(instance, "beta", ["candidate_sets"])  # stored for another domain only
