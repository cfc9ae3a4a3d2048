"""Cutting imported prose into sentences the description encoder accepts.

Importers (Fountain, MovieBench) receive paragraphs written for people; the script keeps
sentences of at most `MAX_SENTENCE_WORDS` words. These functions split at sentence ends and,
only when a single sentence is too long, at word boundaries. They never drop text: what does
not fit is returned so the importer can keep it in the shot's notes.
"""

from __future__ import annotations

import re

from core.script.models import MAX_SENTENCE_WORDS

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "prof",
        "mt",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "int",
        "ext",
        "est",
        "approx",
        "dept",
        "lt",
        "col",
        "gen",
        "sgt",
        "capt",
    ]
)
# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and a capital,
# digit or opening quote/bracket.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[A-Z0-9\"'\u201c\u2018(\[])")


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace (line breaks included) into single spaces."""
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, whitespace normalised, in order; empty text gives []."""
    text = normalise_space(text)
    if not text:
        return []
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        # The match is closing quotes/brackets, then spaces; the closers stay with the sentence.
        end = match.start() + len(match.group(0).rstrip())
        last_word = text[start : match.start()].rsplit(" ", 1)[-1].rstrip(".!?").lower()
        if text[match.start() - 1] == "." and last_word in _ABBREVIATIONS:
            continue
        pieces.append(text[start:end])
        start = match.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def split_long_sentence(sentence: str, limit: int = MAX_SENTENCE_WORDS) -> list[str]:
    """`sentence` as pieces of at most `limit` words, cut at word boundaries."""
    words = sentence.split()
    return [" ".join(words[i : i + limit]) for i in range(0, len(words), limit)]


def encoder_sentences(text: str, limit: int = MAX_SENTENCE_WORDS) -> list[str]:
    """Every sentence of `text`, each long one cut into pieces of at most `limit` words."""
    return [piece for sentence in split_sentences(text) for piece in split_long_sentence(sentence, limit)]


def fit_sentence(text: str, limit: int = MAX_SENTENCE_WORDS) -> tuple[str, str]:
    """The longest run of whole leading sentences of `text` within `limit` words, and the rest.

    When even the first sentence is longer than `limit`, its first `limit` words are taken.
    Both parts have normalised whitespace; the rest is "" when everything fits.
    """
    sentences = split_sentences(text)
    kept: list[str] = []
    words = 0
    for sentence in sentences:
        count = len(sentence.split())
        if words + count > limit:
            break
        kept.append(sentence)
        words += count
    if not kept and sentences:
        head = sentences[0].split()
        kept = [" ".join(head[:limit])]
        rest = [" ".join(head[limit:]), *sentences[1:]]
    else:
        rest = sentences[len(kept) :]
    return " ".join(kept), " ".join(piece for piece in rest if piece)
