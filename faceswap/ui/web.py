"""Small helpers every route module shares: the JSON body of a request and numbers from it."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request

from faceswap.errors import InputError


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object; InputError (one line in the page) for anything else."""
    try:
        data = await request.json()
    except ValueError:
        raise InputError("the request is not JSON") from None
    if not isinstance(data, dict):
        raise InputError("the request is not a JSON object")
    return data


def number(data: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    """``data[key]`` as ``kind`` (``default`` when absent); InputError naming the key otherwise."""
    value = data.get(key, default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{key} '{value}' is not a number") from None


def plain_name(value: str, label: str) -> str:
    """A face set or model name: a plain folder name, never a path."""
    if not value or "/" in value or "\\" in value or value.startswith("."):
        raise InputError(f"{label} '{value}' is not a plain name")
    return value
