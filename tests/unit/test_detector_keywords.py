"""The keyword patterns keep their matches when their word bounds are factored out of the alternation (speed)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from services.detector.classification import lexicon
from services.detector.classification.category_words import CATEGORY_WORDS
from services.detector.classification.sentiment_words import WORDS

DATA = Path(__file__).resolve().parents[1] / "data" / "classification"


def bounded_per_term(terms: str, segmented: bool) -> re.Pattern[str]:
    """The reference: every term carries its own bounds, as the patterns were written before the speed-up."""
    items = sorted({t.strip().lower() for t in terms.split("|") if t.strip()}, key=len, reverse=True)
    parts = []
    for term in items:
        words = term.rstrip("*").split(" ")
        body = r"\s+".join(re.escape(word) for word in words) + (r"\w*" if term.endswith("*") else "")
        parts.append(rf"(?<!\w){body}(?!\w)" if segmented else body)
    return re.compile("|".join(parts))


def labelled_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        texts.extend(str(orjson.loads(line)["text"]).lower() for line in lines if line.strip())
    # Edge cases for the bounds: a term inside a longer word, a longer term failing its end bound, punctuation.
    texts += ["chocolate arrived late", "lately, late-ish; latex", "never arrived!", "späte lieferung, spät"]
    return texts


def test_category_and_sentiment_patterns_match_exactly_where_per_term_bounds_matched() -> None:
    """For every language's category keywords and sentiment terms, the factored pattern finds the same spans as
    one bounded pattern per term on every labelled text (so counts, categories and negations are unchanged)."""
    texts = labelled_texts()
    tables = [(language, terms) for language, table in CATEGORY_WORDS.items() for terms in table.values()]
    tables += [(language, f"{words.negative}|{words.positive}") for language, words in WORDS.items()]
    checked = 0
    for language, terms in tables:
        segmented = language not in lexicon.UNSEGMENTED
        factored = lexicon._compile(terms, segmented)
        assert factored is not None
        reference = bounded_per_term(terms, segmented)
        for text in texts:
            assert [m.span() for m in factored.finditer(text)] == [m.span() for m in reference.finditer(text)]
            checked += 1
    assert checked > 100_000
