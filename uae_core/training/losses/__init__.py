"""Training objectives, one per file (inputs and a runnable example in each docstring)."""

from uae_core.training.losses.gold_infonce import gold_infonce_loss
from uae_core.training.losses.kl_distillation import kl_distillation_loss, teacher_distribution
from uae_core.training.losses.utility_infonce import utility_infonce_loss

__all__ = ["gold_infonce_loss", "kl_distillation_loss", "teacher_distribution", "utility_infonce_loss"]
