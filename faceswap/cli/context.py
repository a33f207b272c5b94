"""State one CLI invocation shares between commands: workspace, device, registry, options."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceswap.options import load_toml_defaults, parse_overrides
from faceswap.plugin_api import KINDS
from faceswap.plugin_trust import TrustStore, default_trust_file
from faceswap.registry import Registry
from faceswap.runtime.device import Device, resolve_device
from faceswap.workspace import Workspace


@dataclass
class AppContext:
    workspace: Workspace
    device_choice: str = "auto"
    threads: int = 0
    verbose: bool = False
    _registry: Registry | None = field(default=None, repr=False)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry.discover(self.workspace.plugins, trust=TrustStore(default_trust_file()))
        return self._registry

    def device(self) -> Device:
        return resolve_device(self.device_choice, self.threads)

    def plugin_options(
        self, chosen: Mapping[str, Iterable[str]], overrides: Iterable[str], model_root: Path | None = None
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """{kind: {name: {key: value}}} for the chosen plugins.

        Precedence: the plugin's defaults < faceswap.toml < ``-O kind.key=value``;
        ``--model-root`` fills ``model_root`` for every chosen plugin that has it.
        """
        toml = load_toml_defaults(self.workspace.config_file)
        cli = parse_overrides(overrides, KINDS)
        result: dict[str, dict[str, dict[str, Any]]] = {}
        for kind, names in chosen.items():
            for name in names:
                values: dict[str, Any] = dict(toml.get(kind, {}).get(name, {}))
                values.update(cli.get(kind, {}))
                if model_root is not None and _has_option(self.registry, kind, name, "model_root"):
                    values["model_root"] = model_root
                result.setdefault(kind, {})[name] = values
        return result


def _has_option(registry: Registry, kind: str, name: str, option: str) -> bool:
    options_cls = registry.load(kind, name).Options
    return any(f.name == option for f in dataclasses.fields(options_cls))
