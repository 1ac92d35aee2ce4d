"""Coverage-guided fuzz targets for atheris (libFuzzer): `python -m tests.fuzz.atheris_targets TARGET [libFuzzer
flags]`, e.g. `codec -max_total_time=60 corpus/`. An exception other than BadInput is a crash (exit code != 0).

Targets: `codec` (review, incident and dead-letter decoding of any bytes) and `normaliser` (the Trustpilot and
the generic item normalisers on any JSON). tests/fuzz/test_atheris.py runs each briefly in CI.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import atheris  # type: ignore[import-untyped]  # ships no type information

with atheris.instrument_imports(include=["services"]):
    import orjson

    from services.pollers.adapters.base import RawItem
    from services.pollers.adapters.generic_items import normalise_item
    from services.pollers.adapters.registry import ADAPTERS
    from services.shared import codec
    from services.shared.config import SourceConfig
    from services.shared.errors import BadInput
    from services.shared.settings import Secret

OBSERVED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def fuzz_codec(data: bytes) -> None:
    for decode in (codec.decode_review, codec.decode_incident, codec.decode_deadletter):
        with contextlib.suppress(BadInput):
            decode(data)


_SOURCE = SourceConfig(
    id="fuzz/trustpilot",
    merchant_id="fuzz",
    platform="trustpilot",
    base_url="http://127.0.0.1:9",
    credentials={"api_key": Secret("k"), "api_secret": Secret("s")},
    options={"business_unit_id": "bu"},
)
_TRUSTPILOT = ADAPTERS["trustpilot"](_SOURCE, "sources[0]")


def fuzz_normaliser(data: bytes) -> None:
    try:
        item = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    with contextlib.suppress(BadInput):
        _TRUSTPILOT.normalise(RawItem(raw=data, data=item), _SOURCE, OBSERVED_AT)
    with contextlib.suppress(BadInput):
        normalise_item(
            item, merchant_id="fuzz", platform="x", source_id="fuzz/x", observed_at=OBSERVED_AT, timezone="UTC"
        )


TARGETS: dict[str, Callable[[bytes], None]] = {"codec": fuzz_codec, "normaliser": fuzz_normaliser}


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in TARGETS:
        raise SystemExit(f"usage: python -m tests.fuzz.atheris_targets {{{','.join(TARGETS)}}} [libFuzzer flags]")
    atheris.Setup([sys.argv[0], *sys.argv[2:]], TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
