"""Command-line layer shared by scripts/train_vae.py, train_vaegan.py and train_softintrovae.py: flags -> changes
to the method's default recipe -> TrainConfig -> library.

The flags are the config's own settings (vaegan/settings.py): each field with a flag in a group the method uses
becomes one, with its help, its type and choices, and the recipe's value shown as its default. Only the flags given
become changes (vaegan/resolve.py `configure`), so a recipe value that has no flag, or whose flag is not given,
survives. What --resume accepts follows each field's role.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from metrics.domain import DomainWeightsError
from metrics.weights_file import WeightsHashMismatch
from metrics.inception import DOWNLOAD_FLAG, DOWNLOAD_HELP, InceptionWeightsError, download_weights
from vaegan import distributed
from vaegan.atomic import DiskFullError, disk_full
from vaegan.budget import FIELDS as BUDGET_FIELDS, Budget
from vaegan.config import TrainConfig
from vaegan.distributed import DEFAULT_TIMEOUT_SECONDS
from vaegan.data import DatasetFormatError, DatasetNotFoundError
from vaegan.resolve import configure, resolve, resumed_config
from vaegan.run_folder import SUBFOLDERS, config_path, metrics_path, read_config
from vaegan.checkpoint import CheckpointError
from vaegan.settings import RESUMABLE_ROLES, Entry, entries, get_path, scalar_type
from vaegan.training.loop import NonFiniteLossError, resume, train
from vaegan.methods import METHODS, label, method
from vaegan.training.signals import StoppedBySignal

# Errors a user can fix from the message alone; anything else is a bug and keeps its traceback, except a full disk
# (an OSError with ENOSPC anywhere on its chain, whoever raised it: see run_cli).
USER_ERRORS = (DatasetNotFoundError, DatasetFormatError, CheckpointError, NonFiniteLossError, ValueError, FileNotFoundError,
               WeightsHashMismatch, InceptionWeightsError, DomainWeightsError, distributed.DistributedError,
               DiskFullError)


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


class HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """--help ends every option's line with its default: "off"/"on" for a switch; where None means something, the
    help says it in its own words as "(default: ...)"."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = (action.help or "").replace(" (default: %(default)s)", "")  # BooleanOptionalAction adds one
        shown = getattr(action, "shown_default", action.default)  # a setting's flag: the recipe's value
        if "(default:" in text or not action.option_strings or shown is argparse.SUPPRESS:
            return text
        if isinstance(shown, bool):
            return f"{text} (default: {'on' if shown else 'off'})"
        return f"{text} (default: {str(shown).replace('%', '%%')})"


class NotWritableError(ValueError):
    """An output folder that cannot be written: found before the work, not after it."""


def check_writable(path: str | Path, flag: str) -> None:
    """NotWritableError unless `path` (a folder, made later if missing, or a file) can be written by this user."""
    path = Path(path)
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if existing != path and not existing.is_dir():
        raise NotWritableError(f"cannot write to {flag} {path}: {existing} is a file, not a folder; "
                               f"pick another {flag}")
    if not os.access(existing, os.W_OK | (os.X_OK if existing.is_dir() else 0)):
        raise NotWritableError(f"cannot write to {flag} {path}: {existing} is read-only for this user; pick another "
                               f"{flag} or make it writable")



# The help sections, in --help's order. A method's script has the common ones and its own (Method.flag_groups).
GROUP_TITLES = {
    "data": "data", "model": "model", "cppn": "cppn decoder (with --decoder cppn)", "optimisation": "optimisation",
    "budget": "budget (training stops at the first one reached; any of them given replaces the default)",
    "likelihood": "pixel likelihood", "vae_loss": "VAE loss (its KL term)", "vaegan": "VAE-GAN",
    "discriminator": "discriminator", "softintrovae": "Soft-IntroVAE (defaults: the authors' for 28x28 MNIST and "
    "Fashion-MNIST)", "run": "run",
}
COMMON_GROUPS = ("data", "model", "cppn", "optimisation", "budget", "likelihood", "run")


def flag_entries(kind: str, root: type = TrainConfig) -> list[Entry]:
    """The settings of config class `root` that are flags of method `kind`'s script, in --help's order."""
    groups = (*COMMON_GROUPS, *method(kind).flag_groups)
    found = [e for e in entries(root) if e.flag is not None and e.setting.group in groups]
    order = list(GROUP_TITLES)
    return sorted(found, key=lambda e: order.index(e.setting.group) if e.setting.group in order else len(order))


def shown_default(entry: Entry, cfg: TrainConfig, model: dict):
    """What --help gives as a flag's default: the recipe's value (for the architecture: the recipe's change, else
    ModelConfig's), or the setting's own words where the value means something else."""
    if entry.path.startswith("model.") and entry.name not in model:  # the preset decides, or ModelConfig
        value = None if entry.setting.default_text else getattr(entry.owner(), entry.name)
    else:
        value = model[entry.name] if entry.path.startswith("model.") else get_path(cfg, entry.path)
    if entry.setting.role == "budget" and value is not None:
        return f"{value:g} when no budget flag is given"
    if value is None:
        return entry.setting.default_text or "none"
    return value


def unused_sections(kind: str, root: type = TrainConfig) -> list[str]:
    """The config sections none of whose settings method `kind` reads (config.json keeps them all, at defaults)."""
    groups = set((*COMMON_GROUPS, *method(kind).flag_groups))
    by_section: dict[str, set[str]] = {}
    for e in entries(root):
        if "." in e.path and e.setting is not None and e.setting.flag is not None:
            by_section.setdefault(e.path.split(".")[0], set()).add(e.setting.group)
    return sorted(name for name, used in by_section.items() if not used & groups)


def add_setting(group: argparse._ArgumentGroup, entry: Entry, shown) -> None:
    """One setting as a flag whose value, when given, lands in args under its dotted path ("optim.lr")."""
    kind = scalar_type(entry.hint)
    options: dict = dict(dest=entry.path, default=argparse.SUPPRESS, help=entry.setting.help)
    if kind is bool:
        options["action"] = argparse.BooleanOptionalAction
    else:
        options["type"] = kind if kind in (int, float) else str
        options["choices"] = entry.setting.allowed_choices()
        if options["choices"] is None:
            options["metavar"] = entry.setting.metavar or entry.flag.removeprefix("--").replace("-", "_").upper()
    group.add_argument(entry.flag, **options).shown_default = shown


def build_parser(kind: str, base: TrainConfig | None = None) -> argparse.ArgumentParser:
    """The training script of method `kind`. base: the config the recipe applies to (TrainConfig(); a subclass with
    more settings gets their flags too)."""
    m = method(kind)
    cfg, model = configure(kind, base=base)
    p = argparse.ArgumentParser(
        allow_abbrev=False,  # full names only: a prefix that matches a future flag must not change meaning
        description=f"Train a {m.description}; "
        "writes a run folder with config.json, checkpoints/, tensorboard/ and samples/.",
        formatter_class=HelpWithDefaults,
    )
    groups: dict[str, argparse._ArgumentGroup] = {}
    for entry in flag_entries(kind, type(cfg)):
        name = entry.setting.group
        if name not in groups:
            groups[name] = p.add_argument_group(GROUP_TITLES.get(name, name))
        add_setting(groups[name], entry, shown_default(entry, cfg, model))
    g = groups.get("run") or p.add_argument_group("run")
    g.add_argument("--collective-timeout", type=positive_float, default=DEFAULT_TIMEOUT_SECONDS,
                   help="under torchrun: seconds a process waits for the others before it stops with an error")
    g.add_argument(DOWNLOAD_FLAG, action="store_true", help=DOWNLOAD_HELP)
    resumable = sorted(e.flag for e in flag_entries(kind, type(cfg))
                       if e.setting.role in RESUMABLE_ROLES and e.setting.role != "budget")
    g.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its latest checkpoint with its saved "
                   f"config; budget flags given here replace its budget, and {', '.join(resumable)} can change too; "
                   "any other flag is an error (default: none: start a new run)")
    g.add_argument("--dry-run", action="store_true",
                   help="print the resolved config (JSON, on stdout) and the budget (on stderr) and stop")
    return p


def changes_from_args(args: argparse.Namespace, root: type = TrainConfig) -> dict:
    """{dotted path: value} of the setting flags given on the command line (the others are absent from args)."""
    paths = {e.path for e in entries(root)}
    return {k: v for k, v in vars(args).items() if k in paths}


def config_from_args(args: argparse.Namespace, kind: str, base: TrainConfig | None = None) -> tuple[TrainConfig, dict]:
    """-> (the method's default recipe with the flags given applied, the model changes for `resolve`)."""
    return configure(kind, changes_from_args(args, type(base or TrainConfig())), base=base)


def refused_on_resume(paths: set[str], root: type = TrainConfig) -> list[str]:
    """The flags among these dotted paths that a resume may not change (their role fixes them once a run started)."""
    by_path = {e.path: e for e in entries(root)}
    return sorted(by_path[p].flag or p for p in paths
                  if p in by_path and by_path[p].setting and by_path[p].setting.role not in RESUMABLE_ROLES)


def run_cli(main: Callable[[], object]) -> None:
    """Run main(); a user error prints one clear line and exits 2 (set VAEGAN_DEBUG=1 for the traceback); training
    stopped by SIGINT/SIGTERM exits 130/143 once its checkpoint is saved."""
    try:
        main()
    except StoppedBySignal as e:
        print(e, file=sys.stderr)
        sys.exit(e.exit_code)
    except USER_ERRORS as e:
        if os.environ.get("VAEGAN_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:
        # A full disk hit outside vaegan.atomic (a PNG, an event file, a library's RuntimeError wrapping the OS
        # error) is as much the user's to fix as one inside it.
        full = disk_full(e)
        if full is None or os.environ.get("VAEGAN_DEBUG"):
            raise
        print(f"error: {full}", file=sys.stderr)
        sys.exit(2)


def train_main(kind: str, argv: Sequence[str] | None = None) -> None:
    args = build_parser(kind).parse_args(argv)

    def main():
        if args.download_inception_weights:
            download_weights()
        if args.dry_run:
            processes = distributed.SINGLE
        else:  # under torchrun: join the group (a plain run is a group of one)
            processes = distributed.start(args.device if "device" in args else TrainConfig().device,
                                          args.collective_timeout)
        try:
            if args.resume:
                resume_main(kind, args, processes)
                return
            cfg, model = config_from_args(args, kind)
            if args.dry_run:
                print(resolve(cfg, model)[0].to_json())
                print(f"budget: {Budget.of(cfg).describe()}", file=sys.stderr)
                if unused := unused_sections(kind):
                    print(f"not read by the {method(kind).label}: {', '.join(s + '.*' for s in unused)} (config.json "
                          "keeps every field, at its default)", file=sys.stderr)
                return
            check_writable(cfg.runs_dir, "--runs-dir")
            train(cfg, model_overrides=model, processes=processes)
        finally:
            distributed.stop()

    run_cli(main)


def resume_main(kind: str, args: argparse.Namespace, processes: distributed.Processes = distributed.SINGLE) -> None:
    """--resume: the run's saved config, with the budget, cadence and placement given on the command line."""
    run_dir = Path(args.resume)
    changes = changes_from_args(args)
    fixed = refused_on_resume(set(changes))
    if fixed:
        raise ValueError(f"{', '.join(fixed)} cannot change when resuming (the run keeps its saved config); drop "
                         f"{'it' if len(fixed) == 1 else 'them'}, or train a new run without --resume")
    if not config_path(run_dir).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no config.json); pass a folder made by training "
                                "(e.g. runs/00001-...)")
    saved = TrainConfig.from_dict(read_config(run_dir))
    if saved.kind != kind:
        other = METHODS[saved.kind].script if saved.kind in METHODS else f"the {saved.kind} script"
        start_from = (f" (or start a {method(kind).label} from it with --init-from {run_dir})"
                      if "init_from" in {e.path for e in flag_entries(kind)} else "")
        raise ValueError(f"{run_dir} is a {label(saved.kind)} run; "
                         f"resume it with {other} --resume {run_dir}{start_from}")
    cfg = resumed_config(saved, changes)
    if args.dry_run:
        print(cfg.to_json())
        print(f"budget: {Budget.of(cfg).describe()}", file=sys.stderr)
        return
    for path in (run_dir, *(run_dir / sub for sub in SUBFOLDERS), metrics_path(run_dir)):
        if path.exists() and processes.is_main:
            check_writable(path, "--resume")
    if changes and processes.is_main:
        budget = [f"budget {Budget.of(cfg).describe()}"] if any(k in changes for k in BUDGET_FIELDS) else []
        applied = budget + [f"{k} {v}" for k, v in changes.items() if k not in BUDGET_FIELDS]
        print(f"resume: applying {', '.join(applied)}", flush=True)
    resume(run_dir, changes, processes=processes)
