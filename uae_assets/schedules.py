"""Scheduled re-distillation of every domain. Shipped off: one switch in the UI (Automation) turns it on.
The cron comes from `redistill_cron` in domains.yaml (default Sundays 03:00). Each round is a run of the
domain's own settings with the `champion` candidate source added: the domain's champion mines the passages
it now ranks highest, only those pairs go to the teacher, and the new version must beat it on dev."""

import yaml
from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from uae_assets.assets.common import domain_partitions
from uae_assets.domain_config import partition_run_config
from uae_assets.domains import domains_file
from uae_assets.jobs import uae_pipeline
from uae_core.labeling.candidates import CandidateConfig

DEFAULT_CRON = "0 3 * * 0"


def redistill_cron() -> str:
    try:
        return (yaml.safe_load(domains_file().read_text()) or {}).get("redistill_cron") or DEFAULT_CRON
    except OSError:
        return DEFAULT_CRON


@schedule(name="redistill_schedule", cron_schedule=redistill_cron(), job=uae_pipeline,
          default_status=DefaultScheduleStatus.STOPPED,
          description="Re-run the whole chain for every registered domain (unchanged steps are reused).")
def redistill_schedule(context: ScheduleEvaluationContext):
    stamp = context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
    for name in context.instance.get_dynamic_partitions(domain_partitions.name):
        yield RunRequest(run_key=f"redistill-{name}-{stamp}", partition_key=name,
                         run_config=redistill_run_config(name), tags={"uae/trigger": "redistill_schedule"})


def redistill_run_config(domain: str) -> dict:
    """A round's run config: the domain's own settings with `champion` added to its candidate sources."""
    config = partition_run_config(domain)
    ops = dict(config.get("ops") or {})
    entry = ops.get("candidate_sets") or {}
    values = dict(entry.get("config") or {})
    sources = list(values.get("sources") or CandidateConfig().sources)
    values["sources"] = sources if "champion" in sources else [*sources, "champion"]
    ops["candidate_sets"] = {**entry, "config": values}
    return {**config, "ops": ops}
