"""Language of a review: the platform's field when present, else script detection plus py3langid on Latin text."""

from __future__ import annotations

import functools
import math
import re
import threading
from typing import Any

# Latin-script languages the identifier chooses between. Restricting it to the languages we support keeps short
# texts from being labelled as some language no merchant here writes in (langid's 97 languages include many
# close neighbours of these).
LATIN_LANGUAGES = ("en", "de", "nl", "fr", "es", "it", "pl", "tr")

# Letters that occur in one of those languages only: each one present adds this much log-probability.
_LETTER_CUES = {"ß": "de", "ł": "pl", "ą": "pl", "ę": "pl", "ś": "pl", "ź": "pl", "ż": "pl", "ń": "pl",
                "ć": "pl", "ş": "tr", "ğ": "tr", "\u0131": "tr", "ñ": "es", "¿": "es", "¡": "es", "œ": "fr",
                "ĳ": "nl"}  # fmt: skip
_CUE_BONUS = 3.0
# Frequent words that belong to one of them only: short reviews ("Top, merci !") have little else to go on.
_WORD_CUES = {
    "en": "the and very not my was with it's thanks love never",
    "de": "und nicht sehr ist mit das ich gut schlecht danke kein keine",
    "nl": "het niet een zeer heel mijn ik goed slecht bedankt geen erg",
    "fr": "le la les pas très merci je est et avec bien nul",
    "es": "el los muy gracias pero con bueno malo nada",
    "it": "il non molto grazie è che buono pessimo niente",
    "pl": "jest bardzo dziękuję się dobrze źle polecam",  # not "nie": German has it too
    "tr": "çok bir ve değil teşekkür güzel kötü",
}
_WORD_TO_LANGUAGE = {word: language for language, words in _WORD_CUES.items() for word in words.split()}
_WORD_BONUS = 1.5
_WORDS = re.compile(r"[\w']+")
# Kanji in their Japanese (shinjitai) form, which Chinese writes differently: kana-free Japanese still has them.
_JAPANESE_KANJI = re.compile(r"[悪気楽変対駅円売読続絵図鉄広払込済様]")

# Tags platforms send that are not the ISO 639-1 code we report.
_TAG_ALIASES = {"jp": "ja", "cn": "zh", "iw": "he", "in": "id", "ji": "yi", "cz": "cs", "gr": "el", "dk": "da"}

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_UKRAINIAN = re.compile(r"[їєґі]", re.IGNORECASE)
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Scripts that (for review texts) mean one language.
_SINGLE_SCRIPTS = (
    (re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"), "ko"),
    (re.compile(r"[\u0370-\u03ff]"), "el"),
    (re.compile(r"[\u0590-\u05ff]"), "he"),
    (re.compile(r"[\u0e00-\u0e7f]"), "th"),
    (re.compile(r"[\u0600-\u06ff]"), "ar"),
)
_URL_OR_HANDLE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")
MIN_LATIN_LETTERS = 3


@functools.lru_cache(maxsize=4096)  # every event asks; platforms send a handful of distinct tags
def normalise_tag(tag: str | None) -> str | None:
    """The ISO 639-1 primary subtag of a platform's language field ("en-GB" -> "en", "zh_Hans" -> "zh")."""
    if tag is None:
        return None
    primary = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    if not primary.isalpha() or not 2 <= len(primary) <= 3 or not primary.isascii():
        return None
    return _TAG_ALIASES.get(primary, primary)


class LanguageIdentifier:
    """Identifies the language of review texts. Thread-safe; the langid model (in the wheel) loads on first use."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def identify(self, text: str, declared: str | None = None) -> str | None:
        """The platform's declared language if it is usable, else the language detected in `text` (None if none)."""
        tag = normalise_tag(declared)
        if tag is not None:
            return tag
        return self.detect(text)

    def detect(self, text: str) -> str | None:
        """The language of `text` by its script, and for Latin script by the restricted langid model."""
        text = _URL_OR_HANDLE.sub(" ", text)
        if _KANA.search(text) or _JAPANESE_KANJI.search(text):
            return "ja"
        han = len(_HAN.findall(text))
        latin = len(_LATIN.findall(text))
        if han and han * 2 >= latin:
            return "zh"
        cyrillic = len(_CYRILLIC.findall(text))
        if cyrillic > latin:
            return "uk" if _UKRAINIAN.search(text) else "ru"
        for pattern, language in _SINGLE_SCRIPTS:
            if len(pattern.findall(text)) > latin:
                return language
        if latin < MIN_LATIN_LETTERS:
            return None
        return self._latin(text)

    def _latin(self, text: str) -> str:
        model = self._loaded()
        scores: dict[str, float] = {str(code): math.log(max(float(p), 1e-9)) for code, p in model.rank(text)}
        lowered = text.lower()
        for letter, language in _LETTER_CUES.items():
            if letter in lowered:
                scores[language] += _CUE_BONUS
        for word in _WORDS.findall(lowered):
            cue = _WORD_TO_LANGUAGE.get(word)
            if cue is not None:
                scores[cue] += _WORD_BONUS
        return max(scores, key=lambda language: scores[language])

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                # py3langid ships no type information.
                from py3langid.langid import MODEL_FILE  # type: ignore[import-untyped]
                from py3langid.langid import LanguageIdentifier as LangidModel

                model = LangidModel.from_model_file(MODEL_FILE, norm_probs=True)
                model.set_languages(list(LATIN_LANGUAGES))
                self._model = model
            return self._model
