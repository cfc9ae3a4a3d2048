"""Hypothesis strategies that build valid `core.script` Scripts (for property tests).

Texts use any printable Unicode (quotes, backslashes, emoji, accents) so JSON escaping is
exercised; sentences stay within the encoder's word limit and names are unique
(case-insensitively), so every generated script passes validation.
"""

from __future__ import annotations

from hypothesis import strategies as st

from core.script import (
    MAX_CHARACTERS_PER_SHOT,
    MAX_SHOT_SECONDS,
    CameraAngle,
    CameraMotion,
    Character,
    DialogueLine,
    Scene,
    Script,
    Shot,
    ShotSize,
    TimeOfDay,
)
from core.script.models import MAX_NAME_LENGTH

# Letters, marks, numbers, punctuation and symbols: no whitespace or control characters, so
# a "word" never disappears when pydantic strips text.
_WORD_CHARACTERS = st.characters(categories=["L", "M", "N", "P", "S"])
words = st.text(_WORD_CHARACTERS, min_size=1, max_size=10)
sentences = st.lists(words, min_size=1, max_size=12).map(" ".join)
free_text = st.text(
    st.characters(categories=["L", "M", "N", "P", "S", "Zs"], include_characters="\n"), max_size=40
)
names = (
    st.lists(st.text(_WORD_CHARACTERS, min_size=1, max_size=8), min_size=1, max_size=3)
    .map(" ".join)
    .filter(lambda name: len(name) <= MAX_NAME_LENGTH)
)
durations = st.floats(min_value=0, max_value=MAX_SHOT_SECONDS, exclude_min=True, allow_nan=False)


@st.composite
def characters(draw: st.DrawFn, name: str) -> Character:
    return Character(
        name=name,
        description=draw(st.lists(sentences, max_size=4)),
        photos=draw(st.lists(st.from_regex(r"cast/[a-z0-9_]{1,12}\.png", fullmatch=True), max_size=2)),
    )


@st.composite
def shots(draw: st.DrawFn, cast_names: list[str]) -> Shot:
    present = (
        draw(st.lists(st.sampled_from(cast_names), unique=True, max_size=MAX_CHARACTERS_PER_SHOT))
        if cast_names
        else []
    )
    # Every speaker is a cast member (the script refuses lines by anyone else), so a script
    # without a cast has no dialogue.
    dialogue = (
        draw(
            st.lists(
                st.builds(
                    DialogueLine,
                    character=st.sampled_from(cast_names),
                    text=sentences,
                    parenthetical=st.one_of(st.just(""), sentences),
                ),
                max_size=3,
            )
        )
        if cast_names
        else []
    )
    return Shot(
        plot=draw(sentences),
        characters=present,
        size=draw(st.sampled_from(ShotSize)),
        angle=draw(st.sampled_from(CameraAngle)),
        motion=draw(st.sampled_from(CameraMotion)),
        duration=draw(durations),
        dialogue=dialogue,
        notes=draw(free_text),
    )


@st.composite
def scenes(draw: st.DrawFn, cast_names: list[str], max_shots: int = 4) -> Scene:
    return Scene(
        heading=draw(sentences),
        time_of_day=draw(st.sampled_from(TimeOfDay)),
        elements=draw(st.lists(sentences, max_size=4)),
        style=draw(st.one_of(st.none(), st.just(""), sentences)),
        shots=draw(st.lists(shots(cast_names), max_size=max_shots)),
    )


@st.composite
def scripts(draw: st.DrawFn, max_cast: int = 7, max_scenes: int = 3, max_shots: int = 4) -> Script:
    cast_names = draw(st.lists(names, max_size=max_cast, unique_by=str.casefold))
    return Script(
        title=draw(sentences),
        logline=draw(free_text),
        style=draw(st.one_of(st.just(""), sentences)),
        cast=[draw(characters(name)) for name in cast_names],
        scenes=draw(st.lists(scenes(cast_names, max_shots), max_size=max_scenes)),
    )
