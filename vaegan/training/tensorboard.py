"""What a training run writes to TensorBoard besides its images (vaegan/training/visuals.py): the scalars of each log
step, and the config as text and hparams at the start."""

from __future__ import annotations

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from vaegan.config import TrainConfig
from vaegan.fid_key import FIDKey
from vaegan.training.state import TrainState


def log_scalars(writer: SummaryWriter, state: TrainState, stats: dict[str, float], images_per_sec: float) -> None:
    for tag, value in stats.items():
        writer.add_scalar(tag, value, state.step)
    for name, opt in state.optimizers.items():
        writer.add_scalar(f"lr/{name}", opt.param_groups[0]["lr"], state.step)
    writer.add_scalar("perf/images_per_sec", images_per_sec, state.step)
    writer.add_scalar("perf/epoch", state.step / state.batches.steps_per_epoch, state.step)
    writer.add_scalar("perf/budget_progress", state.progress, state.step)


def write_run_header(writer: SummaryWriter, cfg: TrainConfig) -> None:
    """The config as text, and as TensorBoard hparams so runs can be compared side by side."""
    writer.add_text("config", "```\n" + cfg.to_json() + "\n```", 0)
    flat = {}

    def flatten(prefix: str, d: dict) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                flatten(f"{prefix}{k}.", v)
            elif isinstance(v, (int, float, str, bool)):
                flat[prefix + k] = v
            elif isinstance(v, (list, tuple)):
                flat[prefix + k] = str(v)

    flatten("", cfg.to_dict())
    # the headline FID, which picks best.pt, whatever the extractor and sampler
    metrics = {"test/neg_elbo": None, "test/pixel_mse": None, str(FIDKey.headline(cfg)): None}
    for summary in hparams(flat, metrics):
        writer.file_writer.add_summary(summary)
