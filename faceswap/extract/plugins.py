"""The set of plugins one extraction uses, built from names and options."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from faceswap.faceset.schema import Producer
from faceswap.options import options_to_dict
from faceswap.registry import Registry
from faceswap.runtime.device import Device


@dataclass(frozen=True)
class ExtractChoice:
    """Which plugin of each kind; identity None skips embeddings (and --ref)."""

    detector: str = "scrfd"
    landmarker: str = "2d106"
    maskers: tuple[str, ...] = ("extended",)
    identity: str | None = "arcface"


@dataclass(frozen=True)
class ExtractPlugins:
    """Instantiated plugins plus the producer records stored with every face."""

    detector: Any
    landmarker: Any
    maskers: dict[str, Any]
    identity: Any | None
    producers: tuple[Producer, ...]

    def mask(self, faces: np.ndarray, points: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Every masker on a batch: one {name: (S, S) float32} per face."""
        by_name = {name: masker.mask(faces, points) for name, masker in self.maskers.items()}
        return [{name: masks[i] for name, masks in by_name.items()} for i in range(len(faces))]


def choice_from_manifest(plugins: Sequence[Mapping[str, Any]]) -> tuple[ExtractChoice, dict[str, dict[str, dict[str, Any]]]]:
    """The choice and options a face set was extracted with (its manifest's ``plugins`` list),
    so a later extraction of related footage (merge, score, --ref) uses the same plugins."""
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for producer in plugins:
        by_kind.setdefault(str(producer["kind"]), []).append(producer)
    default = ExtractChoice()

    def one(kind: str, fallback: str | None) -> str | None:
        found = by_kind.get(kind)
        return str(found[0]["name"]) if found else fallback

    maskers = tuple(str(p["name"]) for p in by_kind.get("masker", [])) or default.maskers
    choice = ExtractChoice(one("detector", default.detector), one("landmarker", default.landmarker), maskers,
                           one("identity", None) if by_kind else default.identity)
    options: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, found in by_kind.items():
        for producer in found:
            options.setdefault(kind, {})[str(producer["name"])] = dict(producer.get("options", {}))
    return choice, options


def build_extract_plugins(
    registry: Registry, choice: ExtractChoice, options: Mapping[str, Mapping[str, Mapping[str, Any]]],
    device: Device,
) -> ExtractPlugins:
    """Instantiate the chosen plugins. ``options`` is {kind: {plugin name: {key: value}}}."""
    def make(kind: str, name: str) -> Any:
        return registry.create(kind, name, options.get(kind, {}).get(name, {}), device)

    detector = make("detector", choice.detector)
    landmarker = make("landmarker", choice.landmarker)
    maskers = {name: make("masker", name) for name in choice.maskers}
    identity = make("identity", choice.identity) if choice.identity else None
    used = [detector, landmarker, *maskers.values()] + ([identity] if identity else [])
    producers = tuple(Producer(p.kind, p.name, p.version, options_to_dict(p.options)) for p in used)
    return ExtractPlugins(detector, landmarker, maskers, identity, producers)
