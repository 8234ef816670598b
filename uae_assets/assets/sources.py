"""What the chain depends on from outside, with versions Dagster can see.

- domain_file (one partition per domain): data version = the file's content hash.
- teacher_model: data version = teacher_id (weights fingerprint + prompt + scoring config), so a new
  teacher makes utility_labels and everything below it stale in every domain.
The domain sensor observes both and reports a new observation only when a version changed.
"""

from dagster import DataVersion, DataVersionsByPartition, ObserveResult, observable_source_asset

from uae_assets.assets.common import domain_partitions
from uae_assets.domains import Domain, all_domains
from uae_assets.resources import TeacherResource
from uae_core.data import file_sha256


def domain_file_version(domain: Domain) -> str | None:
    """Content hash (16 hex) of the domain's source, None while it does not exist (e.g. not downloaded yet)."""
    return file_sha256(domain.path)[:16] if domain.path.exists() else None


@observable_source_asset(partitions_def=domain_partitions, group_name="sources",
                         description="A domain's source file; version = content hash.")
def domain_file(context) -> DataVersionsByPartition:
    domains = all_domains()
    names = context.instance.get_dynamic_partitions(domain_partitions.name)
    versions = {n: domain_file_version(domains[n]) for n in names if n in domains}
    return DataVersionsByPartition({n: DataVersion(v) for n, v in versions.items() if v is not None})


@observable_source_asset(group_name="sources",
                         description="The teacher LLM and how it scores; version = teacher_id.")
def teacher_model(teacher: TeacherResource) -> ObserveResult:
    teacher_id = teacher.teacher_id()
    return ObserveResult(data_version=DataVersion(teacher_id), metadata={"teacher_id": teacher_id})
