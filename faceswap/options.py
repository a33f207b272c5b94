"""Declared, typed plugin options.

A plugin declares its options as a frozen dataclass whose fields are made with
``option()``. Values arrive as strings (``-O detector.threshold=0.6``) or TOML
values, are coerced by the field's type, checked against choices and bounds,
and every problem is reported at once, with close matches for unknown keys.
"""
from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap.errors import OptionError

_META_KEY = "faceswap"


@dataclass(frozen=True)
class OptionSpec:
    """What ``option()`` records about a field."""

    help: str
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    locked: bool = False
    multiple_of: int | None = None


def option(
    default: Any,
    help: str,  # noqa: A002 - mirrors click's keyword
    *,
    choices: Iterable[Any] | None = None,
    min: float | None = None,  # noqa: A002
    max: float | None = None,  # noqa: A002
    locked: bool = False,
    multiple_of: int | None = None,
) -> Any:
    """A dataclass field with help text, allowed values and bounds.

    ``locked`` marks architecture options that may not change once a model is trained;
    ``multiple_of`` asks a whole number to be a multiple of it (e.g. a resolution of 16).
    """
    spec = OptionSpec(help, tuple(choices) if choices is not None else None, min, max, locked, multiple_of)
    return dataclasses.field(default=default, metadata={_META_KEY: spec})


@dataclass(frozen=True)
class OptionInfo:
    """One row of an option table, for ``faceswap plugins show``."""

    name: str
    type: str
    default: Any
    spec: OptionSpec


def describe(options_cls: type) -> list[OptionInfo]:
    """The declared options of an Options dataclass, in declaration order."""
    hints = typing.get_type_hints(options_cls)
    rows = []
    for field in dataclasses.fields(options_cls):
        spec = field.metadata.get(_META_KEY, OptionSpec(help=""))
        rows.append(OptionInfo(field.name, _type_name(hints[field.name]), field.default, spec))
    return rows


def check_options_class(options_cls: Any) -> str | None:
    """Why ``options_cls`` is not a usable Options class, or None when it is."""
    if not (isinstance(options_cls, type) and dataclasses.is_dataclass(options_cls)):
        return "Options must be a dataclass"
    for field in dataclasses.fields(options_cls):
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            return f"option '{field.name}' has no default"
    return None


def build_options(options_cls: type, values: Mapping[str, Any], owner: str) -> Any:
    """Make an Options instance from ``values`` (strings or typed values).

    Raises OptionError listing every bad key or value, with suggestions.
    """
    hints = typing.get_type_hints(options_cls)
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in fields:
            problems.append(f"unknown option '{key}' for {owner}{suggest(key, fields)}")
            continue
        try:
            value = _coerce(raw, hints[key])
            _check_bounds(value, fields[key].metadata.get(_META_KEY))
        except ValueError as exc:
            problems.append(f"{owner} option '{key}': {exc}")
            continue
        kwargs[key] = value
    if problems:
        raise OptionError("; ".join(problems))
    return options_cls(**kwargs)


def options_to_dict(options: Any) -> dict[str, Any]:
    """Options as plain JSON-able values, for records and model files."""
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Path) else value
    return {k: plain(v) for k, v in dataclasses.asdict(options).items()}


def parse_overrides(pairs: Iterable[str], kinds: Iterable[str]) -> dict[str, dict[str, str]]:
    """``["detector.threshold=0.6"]`` -> ``{"detector": {"threshold": "0.6"}}``."""
    kinds = list(kinds)
    result: dict[str, dict[str, str]] = {}
    problems = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        kind, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            problems.append(f"'{pair}' is not KIND.KEY=VALUE (e.g. detector.threshold=0.6)")
        elif kind not in kinds:
            problems.append(f"'{pair}': unknown plugin kind '{kind}'{suggest(kind, kinds)}")
        else:
            result.setdefault(kind, {})[name] = value.strip()
    if problems:
        raise OptionError("; ".join(problems))
    return result


def load_toml_defaults(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Read ``faceswap.toml``: ``{kind: {plugin name: {key: value}}}``; missing file -> {}."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OptionError(f"{path}: not valid TOML ({exc})") from exc
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def suggest(key: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(candidates), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint).replace("typing.", "").replace("pathlib.", ""))


def _coerce(raw: Any, hint: Any) -> Any:
    """Turn a CLI string or TOML value into ``hint``'s type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if raw is None or (isinstance(raw, str) and raw.lower() in ("", "none", "null")):
            return None
        return _coerce(raw, args[0])
    if origin is tuple:
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        item_type = typing.get_args(hint)[0]
        return tuple(_coerce(i.strip() if isinstance(i, str) else i, item_type) for i in items)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got '{raw}'")
    if hint in (int, float, str, Path):
        try:
            if hint is int and isinstance(raw, str):
                return int(raw, 0)
            if hint is int and isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return hint(raw)
        except (TypeError, ValueError):
            raise ValueError(f"expected {hint.__name__}, got '{raw}'") from None
    return raw


def _check_bounds(value: Any, spec: OptionSpec | None) -> None:
    if spec is None or value is None:
        return
    if spec.choices is not None and value not in spec.choices:
        allowed = ", ".join(str(c) for c in spec.choices)
        raise ValueError(f"'{value}' is not one of: {allowed}{suggest(str(value), map(str, spec.choices))}")
    if spec.min is not None and value < spec.min:
        raise ValueError(f"{value} is below the minimum {spec.min}")
    if spec.max is not None and value > spec.max:
        raise ValueError(f"{value} is above the maximum {spec.max}")
    if spec.multiple_of and value % spec.multiple_of:
        raise ValueError(f"{value} is not a multiple of {spec.multiple_of}")
