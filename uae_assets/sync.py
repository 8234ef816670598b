"""Keep the Dagster instance in step with the world outside it: which domains exist, and the versions of
their files and of the teacher. Used by the domain sensor (every tick) and by `uae materialize`.

Only changes are reported: an observation is recorded when a version differs from the latest one the
instance holds, so an unchanged world produces no events and the automation launches nothing.
"""

from dataclasses import dataclass, field

from dagster import AssetKey, AssetObservation, DagsterInstance

from uae_assets.assets.common import domain_partitions
from uae_assets.assets.sources import domain_file_version
from uae_assets.domains import load_domains, scan_watched
from uae_assets.resources import TeacherResource

DATA_VERSION_TAG = "dagster/data_version"  # the tag Dagster reads an observation's data version from


@dataclass
class SyncPlan:
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    observations: list[AssetObservation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # watched-folder entries that are not domains, and why

    @property
    def empty(self) -> bool:
        return not (self.add or self.remove or self.observations)


def _latest_version(instance: DagsterInstance, key: str, partition: str | None) -> str | None:
    record = instance.get_latest_data_version_record(AssetKey(key), is_source=True, partition_key=partition)
    if record is None:
        return None
    return (record.event_log_entry.tags or {}).get(DATA_VERSION_TAG)


def plan_sync(instance: DagsterInstance, teacher: TeacherResource, only: list[str] | None = None,
              remove_missing: bool = True) -> SyncPlan:
    """What to register, unregister and observe. `only` limits the domains looked at (the CLI's domain)."""
    configured, _ = load_domains()
    watched, skipped = scan_watched()
    domains = {**watched, **configured}
    registered = set(instance.get_dynamic_partitions(domain_partitions.name))
    names = [n for n in domains if only is None or n in only]
    plan = SyncPlan(add=[n for n in names if n not in registered], skipped=skipped)
    if remove_missing and only is None:
        plan.remove = sorted(registered - set(domains))
    for name in names:
        version = domain_file_version(domains[name])
        if version is not None and version != _latest_version(instance, "domain_file", name):
            plan.observations.append(AssetObservation("domain_file", partition=name,
                                                      tags={DATA_VERSION_TAG: version},
                                                      metadata={"path": str(domains[name].path)}))
    teacher_id = teacher.teacher_id()
    if teacher_id != _latest_version(instance, "teacher_model", None):
        plan.observations.append(AssetObservation("teacher_model", tags={DATA_VERSION_TAG: teacher_id},
                                                  metadata={"teacher_id": teacher_id}))
    return plan


def apply_sync(instance: DagsterInstance, plan: SyncPlan) -> None:
    """Apply a plan directly (the sensor returns it to the daemon instead)."""
    if plan.add:
        instance.add_dynamic_partitions(domain_partitions.name, plan.add)
    for name in plan.remove:
        instance.delete_dynamic_partition(domain_partitions.name, name)
    for observation in plan.observations:
        instance.report_runless_asset_event(observation)
