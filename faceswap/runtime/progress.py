"""How library code reports progress without printing: the CLI supplies the bar."""
from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    """Anything with these methods; ``tqdm`` fits."""

    def update(self, n: int = 1) -> Any: ...

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> Any: ...


class NoProgress:
    """A Progress that shows nothing (library default, tests)."""

    def update(self, n: int = 1) -> None:
        return None

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        return None
