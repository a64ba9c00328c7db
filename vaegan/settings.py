"""Each config field declares itself once: its help, allowed values, command-line flag and role.

A field of a config dataclass (vaegan/config.py) is written `name: int = setting(32, "help", AT_LEAST_ONE)`; from that
one declaration come the training scripts' flags and their --help (vaegan/cli.py), the range checks of
`TrainConfig.validate`, what `--resume` may change, and what the main job ignores when it looks for an equal run to
reuse (vaegan/experiment.py). Nothing lists fields by hand.

Roles say what a field is to a run:
- "result": changes what the run learns or records; fixed once the run has started.
- "budget": when the run stops (epochs, steps, minutes); a budget given on resume replaces the old one as a whole.
- "cadence": how often it logs, draws, checks and saves; may change on resume.
- "placement": where and how verbosely it runs (device, processes, progress lines); may change on resume and is not
  compared when a finished run is reused.
- "naming": where its folder goes and what it is called; fixed on resume, not compared on reuse.
- "record": written by the run itself (the data files it read); never an input.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterator

ROLES = ("result", "budget", "cadence", "placement", "naming", "record")
RESUMABLE_ROLES = ("budget", "cadence", "placement")  # what --resume may change
IGNORED_ON_REUSE = ("placement", "naming", "record")  # what two runs may differ in and still be the same run


@dataclass(frozen=True)
class Range:
    """The allowed values of a numeric field: from low up to high (None: no upper end), each end included unless
    open; never NaN or infinite."""

    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def __str__(self) -> str:
        low, high = (f"{x:g}" if isinstance(x, float) else str(x) for x in (self.low, self.high))
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {low}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class OneOf:
    """A numeric field that takes a few listed values only (e.g. 1 or 3 channels)."""

    values: tuple[int, ...]

    def __contains__(self, value: float) -> bool:
        return value in self.values

    def __str__(self) -> str:
        return "in {" + ", ".join(map(str, self.values)) + "}"


POSITIVE = Range(0, low_open=True)
NON_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
FRACTION = Range(0, 1, high_open=True)

NAME_FLAG = "--*"  # the flag is the field's name with dashes: fid_every -> --fid-every


@dataclass(frozen=True)
class Setting:
    """What a field says of itself (the `metadata["setting"]` of its dataclass field).

    range: the allowed values of a numeric field (of each element, for a tuple); None for any other field.
    flag: its command-line flag; NAME_FLAG derives it from the name, None: no flag (set from Python or a recipe only).
    group: the --help section it is listed in; a method's flags are the common groups plus its own
        (vaegan/methods.py `Method.flag_groups`).
    choices: the allowed strings, or "module:NAME" for a list or dict kept elsewhere (read when a parser is built:
        the datasets, presets and extractors live in modules that import torch, and the presets' module imports this
        package's configs).
    metavar: the value's name in --help (e.g. RUN_DIR).
    default_text: what --help says for the default where the field's own default is not what a run gets (None
        meaning "the dataset's own size", a value the model preset sets).
    """

    help: str
    range: Range | OneOf | None = None
    role: str = "result"
    flag: str | None = NAME_FLAG
    group: str = "run"
    choices: tuple[str, ...] | str | None = None
    default_text: str | None = None
    metavar: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; use one of {', '.join(ROLES)}")

    def allowed_choices(self) -> list[str] | None:
        if self.choices is None:
            return None
        if isinstance(self.choices, str):
            module, name = self.choices.split(":")
            found = getattr(importlib.import_module(module), name)
            return sorted(found) if isinstance(found, dict) else list(found)
        return list(self.choices)


def setting(default: Any = dataclasses.MISSING, help: str = "", range: Range | OneOf | None = None, *,
            default_factory: Callable[[], Any] | None = None, **options) -> Any:
    """A dataclass field with its Setting: `lr: float = setting(1e-3, "learning rate", POSITIVE, group="optim")`."""
    meta = {"setting": Setting(help, range, **options)}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Entry:
    """One field found by `entries`: its dotted path from the root config ("optim.lr"), the dataclass that holds it,
    its type and its Setting (None for a nested config section)."""

    path: str
    owner: type
    name: str
    hint: Any
    setting: Setting | None

    @property
    def flag(self) -> str | None:
        if self.setting is None or self.setting.flag is None:
            return None
        return "--" + self.name.replace("_", "-") if self.setting.flag == NAME_FLAG else self.setting.flag


def section_type(hint) -> type | None:
    """The dataclass a field's type names (`ModelConfig | None` -> ModelConfig), or None."""
    for candidate in (hint, *typing.get_args(hint)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def entries(cls: type, prefix: str = "") -> Iterator[Entry]:
    """Every setting of config dataclass `cls` and of the sections nested in it, depth first, in declaration order."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        nested = section_type(hint)
        if nested is not None:
            yield from entries(nested, f"{prefix}{f.name}.")
        else:
            yield Entry(prefix + f.name, cls, f.name, hint, f.metadata.get("setting"))


def paths_with_roles(cls: type, roles: typing.Iterable[str]) -> set[str]:
    """The dotted paths of the fields of `cls` whose role is one of `roles`."""
    roles = set(roles)
    return {e.path for e in entries(cls) if e.setting is not None and e.setting.role in roles}


def get_path(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def replace_paths(obj, changes: dict[str, Any]):
    """A copy of dataclass `obj` with each dotted path in `changes` set ({"optim.lr": 1e-4, "seed": 3})."""
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for path, value in changes.items():
        head, _, rest = path.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            top[head] = value
    for head, inner in nested.items():
        top[head] = replace_paths(getattr(obj, head), inner)
    return dataclasses.replace(obj, **top)


def check_ranges(part, prefix: str = "") -> None:
    """ValueError unless every numeric field of config dataclass `part` has a value its Setting allows."""
    hints = typing.get_type_hints(type(part))
    for f in dataclasses.fields(part):
        declared = f.metadata.get("setting")
        if declared is None or declared.range is None:
            continue
        value, hint = getattr(part, f.name), hints[f.name]
        if value is None and allows_none(hint):
            continue
        integer = number_type(hint) is int
        elements = value if isinstance(value, tuple) else (value,)
        ok = all(isinstance(v, (int,) if integer else (int, float)) and not isinstance(v, bool) and v in declared.range
                 for v in elements)
        if not ok:
            what = f"{'an integer' if integer else 'a number'} {declared.range}"
            raise ValueError(f"{'each of ' if isinstance(value, tuple) else ''}{prefix}{f.name} must be {what}, "
                             f"got {value!r}")


def allows_none(hint) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def number_type(hint) -> type | None:
    """int or float for a numeric field's type (int | None, tuple[float, float], ...), else None."""
    hint = scalar_type(hint)
    if typing.get_origin(hint) is tuple:
        hint = typing.get_args(hint)[0]
    return hint if hint in (int, float) else None


def scalar_type(hint):
    """The type without its None: `int | None` -> int."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint
