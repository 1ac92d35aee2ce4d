"""Hypothesis strategies and budgets shared by the fuzzers (this module holds no tests itself).

Budget: every fuzz test takes `FUZZ` (or `fuzz_settings(n)`), whose example count scales with the
`STORMWATCH_FUZZ_EXAMPLES` environment variable (default 1 = the CI budget, about a minute for the directory;
`make fuzz` runs 50 times more). Settings are applied per test, never as a global profile, so the rest of the
suite keeps hypothesis' defaults.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from services.pollers.adapters.base import PlatformAdapter
from services.shared.config import SourceConfig
from services.shared.errors import ConfigError
from services.shared.settings import Secret

ROOT = Path(__file__).resolve().parents[2]
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,40}$")


def scale() -> float:
    """How many times the CI budget to run (STORMWATCH_FUZZ_EXAMPLES, a positive number; default 1)."""
    raw = os.environ.get("STORMWATCH_FUZZ_EXAMPLES", "1")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"STORMWATCH_FUZZ_EXAMPLES={raw!r}: expected a positive number") from None
    return max(value, 0.01)


def fuzz_settings(examples: int) -> settings:
    """`examples` inputs in CI (times the scale on demand), no per-example deadline (CI machines are shared)."""
    return settings(
        max_examples=max(1, int(examples * scale())),
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
            HealthCheck.filter_too_much,
        ],
    )


FUZZ = fuzz_settings(300)

# ---- text and JSON -------------------------------------------------------------------------------------------

HOSTILE_FRAGMENTS = (
    "<!channel>", "<!here>", "<!everyone>", "@here", "@channel", "@everyone", "<@U123>", "<#C1|general>",
    "<https://evil.example|click>", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "&amp;",
    "\r\nBcc: victim@example.com", "\n", "\r", "\x1b[31m", "\x1b]0;pwned\x07", "\x00", "\u2028", "\u0085",
    "'; DROP TABLE incidents; --", "${jndi:ldap://x}", "{{7*7}}", "*bold*", "_it_", "`code`", "%s%n", "²", "٣",
)  # fmt: skip

# Text that mixes arbitrary unicode with fragments that break naive escaping.
# What orjson.loads can produce: no lone surrogates, integers within 64 bits.
json_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
hostile_text = st.lists(st.one_of(json_text, st.sampled_from(HOSTILE_FRAGMENTS)), min_size=1, max_size=8).map("".join)

timestamps = st.one_of(
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(
        ["2026-11-01T10:00:00Z", "2026-11-01T10:00:00.123+02:00", "2026-11-01 10:00:00", "1970-01-01T00:00:00Z",
         "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-02-30T10:00:00Z", "nan", "", "1e400"]
    ),
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
    timestamps,
    st.sampled_from(["", "0", "1", "5", "10", "-1", "1.5", "true", "null", "[]", "{}"]),
)


def json_values(keys: st.SearchStrategy[str] | None = None, max_leaves: int = 30) -> st.SearchStrategy[Any]:
    """JSON-ish values (what orjson.loads can return); objects draw their keys from `keys` half of the time."""
    short = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
    key = short if keys is None else st.one_of(keys, keys, short)
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(key, children, max_size=8),
        ),
        max_leaves=max_leaves,
    )


def json_objects(keys: st.SearchStrategy[str], max_leaves: int = 40) -> st.SearchStrategy[dict[str, Any]]:
    """Objects whose keys mostly come from a vocabulary, so fuzzing reaches past the first `missing key` check."""
    short = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
    return st.dictionaries(st.one_of(keys, keys, keys, short), json_values(keys, max_leaves), max_size=14)


def vocabulary(*modules: ModuleType) -> list[str]:
    """Identifier-like string constants of these modules' source: the keys and enum values their code looks for."""
    found: set[str] = set()
    for module in modules:
        if module.__file__ is None:
            continue
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _IDENTIFIER.match(node.value):
                found.add(node.value)
    return sorted(found)


def schema_vocabulary(*names: str) -> list[str]:
    """Property names and enum values of JSON Schemas in schemas/ (for config and event fuzzing)."""
    import orjson

    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    found.update(value)
                if key in {"enum", "required"} and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                if key == "const" and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in names:
        walk(orjson.loads((ROOT / "schemas" / f"{name}.json").read_bytes()))
    return sorted(found)


# ---- platform adapters ---------------------------------------------------------------------------------------

_REQUIRED = re.compile(r"\.(options|credentials)\.(\w+):")


def build_adapter_for_fuzzing(
    platform: str, factory: Callable[[SourceConfig, str], PlatformAdapter]
) -> tuple[PlatformAdapter, SourceConfig]:
    """An adapter of `platform` built from a minimal source: each `options.X` / `credentials.X` its factory says
    is required is filled in with a plausible value, so adapters added later are covered without editing this."""
    options: dict[str, Any] = {}
    credentials: dict[str, Secret] = {}
    last = ""
    for _ in range(16):
        source = SourceConfig(
            id=f"fuzz/{platform}",
            merchant_id="fuzz",
            platform=platform,
            base_url="http://127.0.0.1:9",
            options=options,
            credentials=credentials,
        )
        try:
            return factory(source, "sources[0]"), source
        except ConfigError as exc:
            last = str(exc)
            match = _REQUIRED.search(last)
            if match is None or match.group(2) in (options if match.group(1) == "options" else credentials):
                break
            if match.group(1) == "options":
                options = {**options, match.group(2): "12345"}
            else:
                credentials = {**credentials, match.group(2): Secret("fuzz-credential")}
    raise AssertionError(f"cannot build a {platform} adapter from a minimal source for fuzzing: {last}")
