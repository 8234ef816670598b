"""Jobs: the whole chain for one domain partition."""

from dagster import AssetSelection, define_asset_job

from uae_assets.assets.common import domain_partitions

uae_pipeline = define_asset_job("uae_pipeline", selection=AssetSelection.all() - AssetSelection.keys(
    "domain_file", "teacher_model"), partitions_def=domain_partitions,
    description="Materialize the whole UAE chain for one domain.")
