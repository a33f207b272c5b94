"""Find, validate, list and instantiate plugins.

Built-in and third-party plugins are entry points (one registration path, so the
path third parties take is the one tested every day); users can also drop ``*.py``
files into ``<workspace>/plugins/``. Entry points are imported only when selected,
so one broken plugin never breaks another command. A drop-in file is code from a
folder anyone may have prepared: it is imported only once the user trusted it
(plugin_trust.py); otherwise it is listed by file name and never run. A Registry is
an object passed around, never a module global, so tests build isolated ones.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap.errors import PluginError
from faceswap.options import build_options, check_options_class, suggest
from faceswap.plugin_api import API_VERSION, KINDS, Plugin, compatible_api_versions
from faceswap.plugin_trust import NOT_TRUSTED, TRUSTED, TrustStore

BUILTIN_DIST = "faceswap"


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin comes from; ``load`` imports it and returns the class."""

    kind: str
    name: str
    origin: str
    load: Callable[[], Any]


@dataclass(frozen=True)
class PluginStatus:
    """One row of ``faceswap plugins``."""

    kind: str
    name: str
    version: str
    origin: str
    status: str          # "ok" or the one-line load error


class Registry:
    """The plugins available in one session."""

    def __init__(self, sources: Iterable[PluginSource], broken: Iterable[PluginStatus] = (),
                 untrusted: Iterable[Path] = ()) -> None:
        self._sources: dict[tuple[str, str], list[PluginSource]] = {}
        for src in sources:
            self._sources.setdefault((src.kind, src.name), []).append(src)
        self._broken = list(broken)
        self._untrusted = list(untrusted)      # drop-in files listed but not imported
        self._loaded: dict[tuple[str, str], type] = {}

    @classmethod
    def discover(cls, plugins_dir: Path | None = None, entry_points: bool = True,
                 trust: TrustStore | None = None) -> Registry:
        """Entry points of every installed distribution plus the drop-in files in ``plugins_dir``
        that ``trust`` trusts (none without it); the others are listed, not imported."""
        sources: list[PluginSource] = []
        if entry_points:
            sources += _entry_point_sources()
        broken: list[PluginStatus] = []
        untrusted: list[Path] = []
        if plugins_dir is not None and plugins_dir.is_dir():
            for path in sorted(plugins_dir.glob("*.py")):
                status = trust.status(path) if trust is not None else NOT_TRUSTED
                if status != TRUSTED:
                    untrusted.append(path)
                    broken.append(PluginStatus("?", path.stem, "-", f"file {path}",
                                               f"{status}: not loaded (run 'faceswap plugins trust {path.name}')"))
                    continue
                found, error = _dropin_sources(path)
                sources += found
                if error:
                    broken.append(PluginStatus("?", path.stem, "-", f"file {path}", error))
        return cls(sources, broken, untrusted)

    def names(self, kind: str) -> list[str]:
        """Names of the plugins of ``kind``, sorted."""
        return sorted(name for (k, name) in self._sources if k == kind)

    def load(self, kind: str, name: str) -> type:
        """The validated plugin class; PluginError naming the plugin otherwise."""
        key = (kind, name)
        if key in self._loaded:
            return self._loaded[key]
        if kind not in KINDS:
            raise PluginError(f"unknown plugin kind '{kind}'{suggest(kind, KINDS)}")
        sources = self._sources.get(key)
        if not sources:
            known = self.names(kind)
            listing = ", ".join(known) if known else "none installed"
            raise PluginError(f"unknown {kind} '{name}'{suggest(name, known)}; available: {listing}{self._untrusted_hint()}")
        if len(sources) > 1:
            origins = " and ".join(s.origin for s in sources)
            raise PluginError(f"{kind} '{name}' is defined twice, by {origins}: remove or rename one")
        src = sources[0]
        try:
            plugin_cls = src.load()
        except Exception as exc:  # a plugin's import error must not escape as a crash
            raise PluginError(f"{kind} '{name}' ({src.origin}) failed to import: {_one_line(exc)}") from exc
        validate_plugin(plugin_cls, kind, name, src.origin)
        self._loaded[key] = plugin_cls
        return plugin_cls

    def _untrusted_hint(self) -> str:
        if not self._untrusted:
            return ""
        names = ", ".join(path.name for path in self._untrusted)
        return f"; drop-in files not loaded as they are not trusted: {names} (run 'faceswap plugins trust' to load them)"

    def create(self, kind: str, name: str, values: Mapping[str, Any], device: Any) -> Any:
        """Load, build its Options from ``values`` and instantiate the plugin."""
        plugin_cls = self.load(kind, name)
        options = build_options(plugin_cls.Options, values, f"{kind} '{name}'")
        return plugin_cls(options, device)

    def report(self) -> list[PluginStatus]:
        """Import every plugin and say which load (for ``faceswap plugins``)."""
        rows = list(self._broken)
        for (kind, name), sources in sorted(self._sources.items()):
            origin = " + ".join(s.origin for s in sources)
            try:
                plugin_cls = self.load(kind, name)
            except PluginError as exc:
                rows.append(PluginStatus(kind, name, "-", origin, str(exc)))
            else:
                rows.append(PluginStatus(kind, name, str(plugin_cls.version), origin, "ok"))
        return rows


def validate_plugin(plugin_cls: Any, kind: str, name: str, origin: str) -> None:
    """Check a plugin class against its kind's contract, naming it in every error."""
    where = f"{kind} '{name}' ({origin})"
    base = _base_class(kind)
    if not (inspect.isclass(plugin_cls) and issubclass(plugin_cls, base)):
        raise PluginError(f"{where} is not a subclass of {base.__module__}.{base.__qualname__}")
    if inspect.isabstract(plugin_cls):
        missing = ", ".join(sorted(plugin_cls.__abstractmethods__))
        raise PluginError(f"{where} does not implement {missing}")
    declared = getattr(plugin_cls, "name", None)
    if declared != name:
        raise PluginError(f"{where} declares name '{declared}' but is registered as '{name}'")
    api = getattr(plugin_cls, "api_version", None)
    if api not in compatible_api_versions(kind):
        raise PluginError(
            f"plugin '{name}' targets plugin API {api}; this faceswap supports {API_VERSION}"
        )
    if not isinstance(getattr(plugin_cls, "version", None), str):
        raise PluginError(f"{where} must declare version as a string, e.g. version = \"1.0\"")
    problem = check_options_class(getattr(plugin_cls, "Options", None))
    if problem:
        raise PluginError(f"{where}: {problem}")
    if kind == "model":
        from faceswap.model_api import model_problems    # only models need torch

        problems = model_problems(plugin_cls)
        if problems:
            raise PluginError(f"{where} breaks the model contract: {'; '.join(problems)}")


def _base_class(kind: str) -> type:
    module, _, attr = KINDS[kind].base.partition(":")
    return getattr(importlib.import_module(module), attr)


def _entry_point_sources() -> list[PluginSource]:
    sources = []
    for kind in KINDS.values():
        for ep in importlib.metadata.entry_points(group=kind.group):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else "?"
            origin = "built-in" if dist_name == BUILTIN_DIST else f"package {dist_name}"
            sources.append(PluginSource(kind.name, ep.name, origin, ep.load))
    return sources


def _dropin_sources(path: Path) -> tuple[list[PluginSource], str | None]:
    """Import one drop-in file and register every plugin class defined in it."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    module_name = f"faceswap_dropin_{path.stem}_{digest}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:  # report the broken file, keep the others
        sys.modules.pop(module_name, None)
        return [], f"failed to import: {_one_line(exc)}"
    origin = f"file {path}"
    sources = []
    for obj in vars(module).values():
        kind = _plugin_kind(obj) if getattr(obj, "__module__", None) == module_name else None
        if kind:
            name = getattr(obj, "name", obj.__name__)
            sources.append(PluginSource(kind, name, origin, lambda obj=obj: obj))
    return sources, None


def _plugin_kind(obj: Any) -> str | None:
    """The kind of a concrete-looking plugin class, or None."""
    if not inspect.isclass(obj):
        return None
    if issubclass(obj, Plugin):
        # the kind bases set `kind` themselves; a plugin inherits it
        return None if "kind" in vars(obj) else getattr(obj, "kind", None)
    model_api = sys.modules.get("faceswap.model_api")   # only if the file imported torch models
    if model_api is not None and issubclass(obj, model_api.FaceModel) and obj is not model_api.FaceModel:
        return "model"
    return None


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__

