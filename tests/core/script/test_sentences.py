"""core.script.sentences: prose cut into sentences the description encoder accepts."""

from __future__ import annotations

from core.script.sentences import encoder_sentences, fit_sentence, split_sentences


def test_split_sentences_respects_abbreviations_and_quotes() -> None:
    text = 'Dr. Vance enters.  She waits!\n"Is that you?" she asks. (He nods.) Mr. Okafor leaves... Then 3 cats run.'
    assert split_sentences(text) == [
        "Dr. Vance enters.",
        "She waits!",
        '"Is that you?" she asks.',
        "(He nods.)",
        "Mr. Okafor leaves...",
        "Then 3 cats run.",
    ]
    assert split_sentences("  \n ") == []


def test_fit_sentence_keeps_whole_leading_sentences() -> None:
    assert fit_sentence("One two three. Four five six seven. Eight.", limit=5) == (
        "One two three.",
        "Four five six seven. Eight.",
    )
    assert fit_sentence("One two.", limit=5) == ("One two.", "")


def test_fit_sentence_cuts_a_single_overlong_sentence_at_the_limit() -> None:
    assert fit_sentence("a b c d e f g. Next one.", limit=3) == ("a b c", "d e f g. Next one.")


def test_encoder_sentences_never_exceed_the_limit_and_lose_no_words() -> None:
    text = "Short one. " + " ".join(f"w{i}" for i in range(130)) + ". Last."
    pieces = encoder_sentences(text, limit=60)
    assert all(len(piece.split()) <= 60 for piece in pieces)
    assert " ".join(pieces).split() == text.split()
