"""Language identification of short review texts, and trust in the platform's language field."""

# ruff: noqa: RUF001  (review texts in Chinese and Turkish use those scripts' own punctuation and letters)

from __future__ import annotations

import pytest

from services.detector.classification.language import LanguageIdentifier, normalise_tag

SHORT_TEXTS = {
    "en": ["Never again.", "Parcel still missing", "Very happy with it"],
    "de": ["Nie wieder!", "Paket fehlt immer noch", "Sehr zufrieden"],
    "nl": ["Nooit meer.", "Pakket nog steeds kwijt", "Erg tevreden"],
    "ru": ["Больше никогда.", "Посылка так и не пришла", "Очень доволен"],
    "zh": ["再也不买了", "包裹还没到", "非常满意"],
    "fr": ["Plus jamais.", "Colis toujours perdu", "Très satisfait"],
    "es": ["Nunca más.", "El paquete sigue sin llegar", "Muy contento"],
    "it": ["Mai più.", "Pacco ancora disperso", "Molto soddisfatto"],
    "pl": ["Nigdy więcej.", "Paczka nadal zaginiona", "Bardzo zadowolony"],
    "tr": ["Bir daha asla.", "Kargo hâlâ kayıp", "Çok memnunum"],
    "ja": ["二度と買わない。", "荷物がまだ届かない", "最悪"],
}


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier()


@pytest.mark.parametrize(
    ("language", "text"), [(language, text) for language, texts in SHORT_TEXTS.items() for text in texts]
)
def test_short_texts(identifier: LanguageIdentifier, language: str, text: str) -> None:
    """Two- to five-word reviews are identified in every supported language."""
    assert identifier.detect(text) == language


def test_platform_field_is_trusted(identifier: LanguageIdentifier) -> None:
    """A usable platform language wins over detection, normalised to its ISO 639-1 primary subtag."""
    assert identifier.identify("Das Paket fehlt", "en-GB") == "en"
    assert identifier.identify("好", "zh_Hans_CN") == "zh"
    assert identifier.identify("x", "JP") == "ja"
    assert identifier.identify("Das Paket fehlt immer noch", "not a language") == "de"
    assert identifier.identify("Das Paket fehlt immer noch", "") == "de"


def test_tag_normalisation() -> None:
    """Tags are lower-cased primary subtags; things that are not tags are None."""
    assert normalise_tag("pt-BR") == "pt"
    assert normalise_tag("NL") == "nl"
    assert normalise_tag(None) is None
    assert normalise_tag("english") is None
    assert normalise_tag("e1") is None


def test_scripts_decide_before_the_model(identifier: LanguageIdentifier) -> None:
    """Kana means Japanese, Han Chinese, Cyrillic Russian (or Ukrainian by its letters), Hangul Korean."""
    assert identifier.detect("iPhone 太差了") == "zh"
    assert identifier.detect("ありがとう") == "ja"
    assert identifier.detect("Дуже погано, їжа холодна") == "uk"
    assert identifier.detect("배송이 너무 늦어요") == "ko"


def test_nothing_to_identify(identifier: LanguageIdentifier) -> None:
    """Empty text, emoji, digits and bare links or handles have no language."""
    for text in ("", "😡😡😡", "10/10", "https://example.com/x", "@shop #fail", "ok"):
        assert identifier.detect(text) is None, text


def test_links_and_handles_are_ignored(identifier: LanguageIdentifier) -> None:
    """A brand handle or URL does not pull a short German post towards English."""
    assert identifier.detect("@BestShop_official wo bleibt mein Paket?? https://t.co/xyz") == "de"
