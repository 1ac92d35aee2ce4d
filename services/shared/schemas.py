"""Load the JSON Schemas in `schemas/` and validate payloads against them (compiled once, fast on the hot path)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson

from services.shared.errors import BadInput, Reason


def schemas_dir() -> Path:
    """Where the schema files live: `STORMWATCH_SCHEMAS_DIR`, else the repository's `schemas/` folder."""
    override = os.environ.get("STORMWATCH_SCHEMAS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "schemas"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema document named e.g. `review-event.v1`."""
    path = schemas_dir() / f"{name}.json"
    try:
        document: dict[str, Any] = orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise RuntimeError(f"schema {name!r} not found at {path}; set STORMWATCH_SCHEMAS_DIR") from exc
    return document


@functools.cache
def _compiled(name: str) -> Callable[[Any], Any]:
    validator: Callable[[Any], Any] = fastjsonschema.compile(load_schema(name), detailed_exceptions=True)
    return validator


def validate(name: str, payload: Any) -> None:
    """Raise BadInput (reason schema_invalid) naming the failing path when `payload` breaks schema `name`."""
    try:
        _compiled(name)(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise BadInput(f"{name}: {exc.message}", reason=Reason.SCHEMA_INVALID) from None
