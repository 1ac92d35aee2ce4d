"""Bounded label values for the alerter's per-merchant and per-responder metrics."""

from __future__ import annotations

from services.alerter.telemetry import LabelValues


def test_merchant_label_is_the_id_only_when_few_merchants_are_configured() -> None:
    """Up to the limit a configured merchant is its own label value and an unknown one is `_other`; above it every
    merchant is `_all` (one series instead of one per merchant)."""
    few = LabelValues.of(["acme", "globex"], limit=2)
    assert (few.merchant("acme"), few.merchant("initech")) == ("acme", "_other")
    many = LabelValues.of(["acme", "globex", "initech"], limit=2)
    assert many.merchant("acme") == "_all"


def test_responder_label_is_a_configured_person_or_a_fixed_channel() -> None:
    """Configured people keep their name; signed links, the detector and the PagerDuty / Opsgenie inbound routes
    name their channel; any other free text from the API (or none) is `_other`."""
    labels = LabelValues.of(["acme"], ["ana"])
    assert labels.responder("ana") == "ana"
    assert labels.responder("link") == "link"
    assert labels.responder("detector") == "detector"
    assert labels.responder("pagerduty:pd") == "pagerduty"
    assert labels.responder("opsgenie:og") == "opsgenie"
    assert labels.responder("pagerduty") == "_other"
    assert labels.responder("Robert'); DROP TABLE --") == "_other"
    assert labels.responder(None) == "_other"
