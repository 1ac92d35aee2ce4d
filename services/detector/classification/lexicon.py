"""Cheap text signals without the model: negativity words with negation, sarcasm and emoji; category keywords."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from services.detector.classification.category_words import CATEGORY_WORDS, HINT_CATEGORIES
from services.detector.classification.sentiment_words import (
    NEGATIVE_EMOJI,
    POSITIVE_EMOJI,
    SARCASM_EMOJI,
    WORDS,
    SentimentWords,
)
from services.detector.classification.types import CATEGORIES, Category

UNSEGMENTED = frozenset({"zh", "ja"})  # no spaces between words: terms match as substrings
NEGATION_WINDOW = 3  # words before (or after) a term that can negate it
_CJK_WINDOW = 2  # characters before a Chinese term that can negate it ("不满意", "没收到")
_CLAUSE_END = re.compile("[.!?;,:\uff0c\u3002\uff01\uff1f\uff1b]")  # and their full-width forms
_WORD = re.compile(r"[\w']+")
# Scare quotes around a word or two ("new", „Service“) usually mean the opposite.
_SCARE_QUOTES = re.compile(r"[\"“„«「]\s*[\w' -]{2,30}?\s*[\"”“»」]")
# Each negated negative term ("not bad", "no problems") counts this much towards positive.
NEGATED_NEGATIVE = 0.5


@dataclass(frozen=True, slots=True)
class LexiconSignal:
    """Counts of negativity cues in one text, after negation."""

    negative: float = 0.0
    positive: float = 0.0
    sarcasm: float = 0.0
    question: bool = False  # ends with a question mark: pre-sale questions are rarely complaints


def _term_pattern(term: str) -> str:
    stem = term.endswith("*")
    words = term.rstrip("*").split(" ")
    return r"\s+".join(re.escape(word) for word in words) + (r"\w*" if stem else "")


def _compile(terms: str, segmented: bool) -> re.Pattern[str] | None:
    items = sorted({term.strip().lower() for term in terms.split("|") if term.strip()}, key=len, reverse=True)
    if not items:
        return None
    alternatives = "|".join(_term_pattern(term) for term in items)
    if not segmented:
        return re.compile(alternatives)
    # A Latin/Cyrillic term must start and end on word boundaries; "late" must not match "chocolate". The bounds
    # stand outside the group: the engine still backtracks into the next (shorter) term when the end bound fails,
    # so the matches are those of one bounded pattern per term, but a position inside a word fails at once instead
    # of once per term (the keyword stage was ~170 us per negative review, most of it there).
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _emoji(terms: str) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(term) for term in terms.split("|")))


_NEGATIVE_EMOJI = _emoji(NEGATIVE_EMOJI)
_POSITIVE_EMOJI = _emoji(POSITIVE_EMOJI)
_SARCASM_EMOJI = _emoji(SARCASM_EMOJI)


@dataclass(frozen=True, slots=True)
class _Compiled:
    segmented: bool
    terms: re.Pattern[str] | None  # negative and positive terms in one pass, longest first
    negative: frozenset[str]
    before: frozenset[str]
    after: frozenset[str]
    sarcasm: tuple[str, ...]


@cache
def _compiled(language: str) -> _Compiled | None:
    words: SentimentWords | None = WORDS.get(language)
    if words is None:
        return None
    segmented = language not in UNSEGMENTED
    negative = {t.strip().lower() for t in words.negative.split("|") if t.strip()}
    positive = {t.strip().lower() for t in words.positive.split("|") if t.strip()}
    return _Compiled(
        segmented=segmented,
        terms=_compile("|".join(sorted(negative | positive)), segmented),
        negative=frozenset(negative),
        before=frozenset(t for t in words.before.split("|") if t),
        after=frozenset(t for t in words.after.split("|") if t),
        sarcasm=tuple(t for t in words.sarcasm.split("|") if t),
    )


def _negated(text: str, start: int, end: int, compiled: _Compiled) -> bool:
    if not compiled.segmented:
        window = text[max(0, start - _CJK_WINDOW) : start]
        if any(negator in window for negator in compiled.before):
            return True
        following = text[end : end + 4]
        return any(following.startswith(negator) for negator in compiled.after)
    before = _CLAUSE_END.split(text[max(0, start - 60) : start])[-1]
    if compiled.before and set(_WORD.findall(before)[-NEGATION_WINDOW:]) & compiled.before:
        return True
    after = _CLAUSE_END.split(text[end : end + 60])[0]
    return bool(compiled.after and set(_WORD.findall(after)[:NEGATION_WINDOW]) & compiled.after)


def sentiment_signal(text: str, language: str | None) -> LexiconSignal:
    """Negative and positive cue counts (a negated term counts for the other side) and sarcasm markers."""
    lowered = text.lower().replace("\u2019", "'")
    negative = float(len(_NEGATIVE_EMOJI.findall(text)))
    positive = float(len(_POSITIVE_EMOJI.findall(text)))
    sarcasm = float(len(_SARCASM_EMOJI.findall(text)))
    sarcasm += 0.5 * len(_SCARE_QUOTES.findall(text))
    question = text.rstrip().endswith(("?", "\uff1f"))
    compiled = _compiled(language) if language else None
    if compiled is None:
        return LexiconSignal(negative, positive, sarcasm, question)
    sarcasm += sum(1.0 for marker in compiled.sarcasm if marker in lowered)
    if compiled.terms is not None:
        for match in compiled.terms.finditer(lowered):
            is_negative = _polarity_is_negative(match.group(0), compiled)
            if _negated(lowered, match.start(), match.end(), compiled):
                if is_negative:
                    positive += NEGATED_NEGATIVE
                else:
                    negative += 1.0
            elif is_negative:
                negative += 1.0
            else:
                positive += 1.0
    return LexiconSignal(negative, positive, sarcasm, question)


def _polarity_is_negative(matched: str, compiled: _Compiled) -> bool:
    matched = re.sub(r"\s+", " ", matched)
    if matched in compiled.negative:
        return True
    best = ""
    for term in compiled.negative:
        if term.endswith("*") and matched.startswith(term[:-1]) and len(term) > len(best):
            best = term
    return bool(best)


@cache
def _category_patterns(language: str) -> dict[str, re.Pattern[str]]:
    table = CATEGORY_WORDS.get(language, {})
    segmented = language not in UNSEGMENTED
    patterns = {}
    for category, terms in table.items():
        pattern = _compile(terms, segmented)
        if pattern is not None:
            patterns[category] = pattern
    return patterns


def category_counts(text: str, language: str | None) -> tuple[float, ...]:
    """Keyword hits per complaint category, in CATEGORIES order (zeros for a language without keywords)."""
    if not language:
        return tuple(0.0 for _ in CATEGORIES)
    patterns = _category_patterns(language)
    lowered = text.lower().replace("\u2019", "'")
    return tuple(float(len(patterns[c].findall(lowered))) if c in patterns else 0.0 for c in CATEGORIES)


def keyword_category(text: str, language: str | None) -> Category | None:
    """The complaint category with the most keyword hits; "other" hits lose ties to specific ones; None if none."""
    counts = category_counts(text, language)
    best = max(range(len(CATEGORIES)), key=lambda i: (counts[i], CATEGORIES[i] != "other", -i))
    return CATEGORIES[best] if counts[best] > 0 else None


def hint_category(hints: tuple[str, ...]) -> Category | None:
    """The category a platform hint names (the first hint that names one), or None."""
    if not hints:
        return None
    for hint in hints:
        # "Delivery:late" names its category in the group, "topic:shipping" in the value: try the value first.
        for part in reversed(re.split(r"[:/]", hint.strip().lower())):
            category = HINT_CATEGORIES.get(part.strip().replace("-", "_").replace(" ", "_"))
            if category is not None:
                return next(known for known in CATEGORIES if known == category)
    return None
