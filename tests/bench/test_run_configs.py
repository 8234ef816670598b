"""The run configs shipped in configs/ pass the checks `uae materialize --config` makes, and configs/tuned.yaml
trains what docs/results.md's finals measured (bench.results' FINAL, its K and label budget), so the two
cannot drift apart."""

from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_run_config_passes_the_materialize_checks(path: Path):
    from uae_assets.run_config import check_run_config

    check_run_config(yaml.safe_load(path.read_text()))


def test_shipped_domain_settings_pass_the_same_checks():
    from uae_assets.domain_config import domain_settings
    from uae_assets.domains import load_domains

    domains, _ = load_domains(REPO / "domains.yaml")
    for domain in domains.values():
        settings = domain_settings(domain)  # raises DomainError naming the field
        assert set(settings) <= {"ops"}


def test_tuned_config_is_the_benchmarks_finals():
    from bench.results import FINAL, SIZES

    ops = yaml.safe_load((REPO / "configs" / "tuned.yaml").read_text())["ops"]
    assert ops["uae_encoder"]["config"] == FINAL
    assert ops["candidate_sets"]["config"] == {"k": SIZES["quick"].k, "max_train_queries": SIZES["quick"].questions}
    assert len(CONFIGS) >= 2
