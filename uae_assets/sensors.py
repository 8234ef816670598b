"""Sensors: discover domains and observe versions (domain_sensor), and declarative automation."""

from dagster import (
    AddDynamicPartitionsRequest,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from uae_assets.assets.common import domain_partitions
from uae_assets.resources import TeacherResource
from uae_assets.sync import plan_sync


@sensor(name="domain_sensor", minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Registers domains from domains.yaml and the watched folder as partitions, and records "
                    "a new version of a domain file or of the teacher when one changes.")
def domain_sensor(context: SensorEvaluationContext, teacher: TeacherResource) -> SensorResult:
    plan = plan_sync(context.instance, teacher)
    requests = []
    if plan.add:
        requests.append(AddDynamicPartitionsRequest(domain_partitions.name, plan.add))
    if plan.remove:
        requests.append(DeleteDynamicPartitionsRequest(domain_partitions.name, plan.remove))
    for reason in plan.skipped:
        context.log.warning(f"skipped: {reason}")
    if plan.empty:
        return SensorResult(skip_reason="no domain, file or teacher changed")
    context.log.info(f"domains added {plan.add}, removed {plan.remove}, "
                     f"{len(plan.observations)} new version(s) observed")
    return SensorResult(dynamic_partitions_requests=requests, asset_events=plan.observations)


# Evaluates every asset's automation condition (eager: missing, or something upstream changed).
automation_sensor = AutomationConditionSensorDefinition(
    "uae_automation", target=AssetSelection.all(), default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30, description="Brings stale or missing domain partitions up to date.")
