"""The model-free text signals: negation, sarcasm and emoji cues, category keywords and platform hints."""

# ruff: noqa: RUF001  (review texts in Chinese and Turkish use those scripts' own punctuation and letters)

from __future__ import annotations

import pytest

from services.detector.classification.lexicon import (
    category_counts,
    hint_category,
    keyword_category,
    sentiment_signal,
)
from services.detector.classification.types import CATEGORIES


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Not good at all", "en"),
        ("Ich bin nicht zufrieden", "de"),
        ("Ik ben niet tevreden", "nl"),
        ("Я не доволен", "ru"),
        ("不满意", "zh"),
        ("Je ne suis pas satisfait", "fr"),
        ("Nie polecam", "pl"),
    ],
)
def test_negated_praise_is_negative(text: str, language: str) -> None:
    """A negator before a positive word (or after it, where the language puts it there) makes it a negative cue."""
    signal = sentiment_signal(text, language)
    assert signal.negative >= 1
    assert signal.positive == 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Not bad, no problems", "en"),
        ("Keine Probleme", "de"),
        ("Geen problemen", "nl"),
        ("Проблем нет", "ru"),
        ("没问题", "zh"),
        ("Sorun yok", "tr"),
    ],
)
def test_negated_complaint_is_not_negative(text: str, language: str) -> None:
    """ "No problems" is a mild positive cue, never a negative one."""
    signal = sentiment_signal(text, language)
    assert signal.negative == 0
    assert signal.positive > 0


def test_word_boundaries() -> None:
    """Stems match whole words only: "late" is not found in "chocolate", "slecht" not in "geslacht"."""
    assert sentiment_signal("Lovely chocolate", "en").negative == 0
    assert sentiment_signal("Het geslacht van de kat", "nl").negative == 0


def test_sarcasm_markers_and_emoji() -> None:
    """Eye-roll emoji, set phrases and scare quotes count as sarcasm; emoji count in any language."""
    assert sentiment_signal("Great, another week without my parcel 🙄", "en").sarcasm >= 1
    assert sentiment_signal("Danke für nichts.", "de").sarcasm >= 1
    assert sentiment_signal("呵呵，又坏了", "zh").sarcasm >= 1
    assert sentiment_signal('The "new" phone is scratched', "en").sarcasm > 0
    assert sentiment_signal("😡😡", None).negative == 2
    assert sentiment_signal("👍", "xx").positive == 1


def test_question_flag() -> None:
    """Texts ending in a question mark (either width) are flagged: pre-sale questions are rarely complaints."""
    assert sentiment_signal("Do you ship to Ireland?", "en").question
    assert sentiment_signal("请问有黑色的吗？", "zh").question
    assert not sentiment_signal("Never arrived.", "en").question


@pytest.mark.parametrize(
    ("text", "language", "category"),
    [
        ("The courier lost my parcel", "en", "logistics"),
        ("Falsche Größe und falsche Farbe geliefert", "de", "not_as_described"),
        ("De klantenservice reageert niet", "nl", "service"),
        ("Сломалось через неделю, брак", "ru", "quality"),
        ("退款一直没到账", "zh", "price"),
        ("Le site plante à chaque fois", "fr", "other"),
        ("El paquete llegó tarde", "es", "logistics"),
        ("Il prodotto si è rotto", "it", "quality"),
        ("Pobrali opłatę dwa razy", "pl", "price"),
        ("Müşteri hizmetleri cevap vermiyor", "tr", "service"),
        ("写真と違う色でした", "ja", "not_as_described"),
    ],
)
def test_keyword_category(text: str, language: str, category: str) -> None:
    """Each supported language has keywords for every complaint category."""
    assert keyword_category(text, language) == category


def test_keyword_category_without_hits() -> None:
    """No keyword, no language or an unsupported language gives no category, and all-zero counts."""
    assert keyword_category("Terrible.", "en") is None
    assert keyword_category("parcel", None) is None
    assert category_counts("parcel", "xx") == tuple(0.0 for _ in CATEGORIES)


@pytest.mark.parametrize(
    ("hints", "category"),
    [
        (("topic:shipping",), "logistics"),
        (("topic:description",), "not_as_described"),
        (("topic:seller-satisfaction",), "service"),
        (("tag:Delivery:late",), "logistics"),
        (("reason:item_not_received",), "logistics"),
        (("reason:SIGNIFICANTLY_NOT_AS_DESCRIBED",), "not_as_described"),
        (("reason:refund_not_received",), "price"),
        (("tag:VIP", "topic:quality"), "quality"),
        (("tag:VIP",), None),
        ((), None),
    ],
)
def test_hint_category(hints: tuple[str, ...], category: str | None) -> None:
    """eBay topics, Trustpilot tags and marketplace reasons map onto complaint categories."""
    assert hint_category(hints) == category
