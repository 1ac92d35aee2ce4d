"""Fuzz Kafka message decoding and the config loader: garbage is a BadInput / ConfigError, never another error.

Decoding: arbitrary bytes, arbitrary JSON, and mutations of the schemas' valid examples. Config: arbitrary YAML
text, arbitrary documents keyed by the config schema's own names, and mutations of the shipped deploy config.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import event, example, given
from hypothesis import strategies as st

from services.shared import codec
from services.shared.config import Config, load_config, parse_config
from services.shared.errors import BadInput, ConfigError
from tests.fuzz.strategies import FUZZ, ROOT, fuzz_settings, json_objects, json_values, scalars, schema_vocabulary
from tests.fuzz.test_fuzz_normalisers import _containers

EXAMPLES = ROOT / "schemas" / "examples"
DECODERS: dict[str, tuple[Callable[[bytes], Any], Callable[[Any], bytes], str]] = {
    "review-event.v1": (codec.decode_review, codec.encode_review, "review-event.valid.json"),
    "incident-event.v1": (codec.decode_incident, codec.encode_incident, "incident-event.valid.json"),
    "deadletter.v1": (codec.decode_deadletter, codec.encode_deadletter, "deadletter.valid.json"),
}
EVENT_KEYS = st.sampled_from(schema_vocabulary("review-event.v1", "incident-event.v1", "deadletter.v1"))
CONFIG_KEYS = st.sampled_from(schema_vocabulary("config.v1"))
DEPLOY_CONFIG = yaml.safe_load((ROOT / "deploy" / "stormwatch" / "config.yaml").read_text(encoding="utf-8"))
# Every ${VAR} / {env: VAR} the deploy config names, set, so that mutations reach past the secrets.
CONFIG_ENV = {
    node["env"]: "fuzz-value"
    for node in _containers(DEPLOY_CONFIG)
    if isinstance(node, dict) and isinstance(node.get("env"), str)
}


@st.composite
def mutated(draw: st.DrawFn, document: Any, keys: st.SearchStrategy[str]) -> Any:
    """A valid document with up to four random edits (a key dropped, a value replaced or retyped)."""
    result = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        containers = _containers(result)
        if not containers:
            break
        target = draw(st.sampled_from(containers))
        key = draw(st.sampled_from(list(target) if isinstance(target, dict) else list(range(len(target)))))
        action = draw(st.sampled_from(["drop", "scalar", "json"]))
        if action == "drop":
            del target[key]
        else:
            target[key] = draw(scalars if action == "scalar" else json_values(keys, max_leaves=6))
    return result


@pytest.mark.parametrize("schema", sorted(DECODERS))
@fuzz_settings(200)
@given(data=st.data())
def test_decoding_any_bytes_gives_an_event_or_bad_input(schema: str, data: st.DataObject) -> None:
    """A consumer's decode of any message value returns a typed event or raises BadInput (then dead-lettered);
    what it accepts re-encodes and decodes to the same event."""
    decode, encode, example = DECODERS[schema]
    valid = orjson.loads((EXAMPLES / example).read_bytes())
    raw = data.draw(
        st.one_of(
            st.binary(max_size=300),
            json_values(EVENT_KEYS).map(orjson.dumps),
            json_objects(EVENT_KEYS).map(lambda d: orjson.dumps({**d, "schema": schema})),
            mutated(valid, EVENT_KEYS).map(orjson.dumps),
            mutated(valid, EVENT_KEYS).map(orjson.dumps),
        ),
        label="raw",
    )
    try:
        decoded = decode(raw)
    except BadInput as exc:
        assert str(exc) and exc.reason.value
        event("rejected")
        return
    event("accepted")
    assert decode(encode(decoded)) == decoded


def _check_config(attempt: Callable[[], Config]) -> None:
    try:
        attempt()
    except ConfigError as exc:
        # "<where>: <what>": the key path (or the file) before the colon.
        where, sep, what = str(exc).partition(": ")
        assert sep and where and what, str(exc)
        event("rejected")
        return
    event("accepted")


@FUZZ
@given(
    document=st.one_of(
        json_values(CONFIG_KEYS),
        json_objects(CONFIG_KEYS),
        mutated(DEPLOY_CONFIG, CONFIG_KEYS),
        mutated(DEPLOY_CONFIG, CONFIG_KEYS),
    )
)
# Found by this fuzzer: a receiver's `*_secret: {}` or `{env: [..]}` raised KeyError / TypeError.
@example({"merchants": [{"id": "m"}], "receivers": [{"name": "w", "type": "webhook", "signing_secret": {}}]})
@example({"merchants": [{"id": "m"}], "receivers": [{"name": "w", "type": "webhook", "signing_secret": {"env": []}}]})
def test_parsing_any_config_document_gives_config_or_a_named_config_error(document: Any) -> None:
    """Any decoded YAML document is a Config or a ConfigError that names the bad key; never a KeyError,
    TypeError or ValueError from deeper in the loader."""
    _check_config(lambda: parse_config(document, env=CONFIG_ENV))


YAML_TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "~", "[]", "- a", "a: [", "!!python/object:os.system ['id']", "&a [*a]", "\t:", "%YAML 9"]),
    json_values(CONFIG_KEYS).map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    mutated(DEPLOY_CONFIG, CONFIG_KEYS).map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
)


@FUZZ
@given(text=YAML_TEXT)
def test_loading_any_yaml_file_gives_config_or_a_named_config_error(text: str, tmp_path: Path) -> None:
    """Any file content (not YAML, YAML tags, anchors, wrong shapes) is a Config or a ConfigError naming the file."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _check_config(lambda: load_config(path, env=CONFIG_ENV))
