"""Scheduled re-distillation of every domain. Shipped off: one switch in the UI (Automation) turns it on.
The cron comes from `redistill_cron` in domains.yaml (default Sundays 03:00)."""

import yaml
from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from uae_assets.assets.common import domain_partitions
from uae_assets.domains import domains_file
from uae_assets.jobs import uae_pipeline

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
                         tags={"uae/trigger": "redistill_schedule"})
