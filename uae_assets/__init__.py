"""The Dagster layer of UAE: assets by role, resources, sensors, schedules (see definitions.py)."""

import warnings

try:
    from dagster import BetaWarning
except ModuleNotFoundError:  # domains.py alone serves the benchmark on a GPU machine without Dagster
    pass
else:
    # Data versions (Output(data_version=...)) and observable source assets are how Dagster sees that a
    # domain file or the teacher changed; they are marked beta, and we rely on them on purpose.
    warnings.filterwarnings("ignore", category=BetaWarning)
