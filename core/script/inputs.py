"""Script -> per-keyframe model inputs: THE one definition of what a model reads per frame.

Paper 3.3 / App. A, eq. 4: the input of frame t is M_t = [d_t, i_t, c_t] - description
embeddings d_t (one per sentence), identifier tokens i_t (structural text, tokenised by
the LLM tokenizer) and character face embeddings c_t (one per character slot) - followed by
the frame's L visual tokens. `KeyframeInputs.items` is that sequence, as typed segments:

    Identifier("<START_OF_FRAME>")
    Identifier("Characters:")
      Identifier("<char_0>") FaceSlot(0) Description(..) ...   # per character, shot order
    Identifier("Scene Elements:") Description(heading) Description(element) ...
    Identifier("Shot: close-up eye-level static") Identifier("Time: sunset")
    Identifier("Plot:") Description(plot)
    Identifier("Style:") Description(style)                    # sentence only if a style is set
    VisualTokens()                                             # the L visual tokens e_t go here
    Identifier("<END_OF_FRAME>")

`Description(i)` points into `KeyframeInputs.sentences` (each becomes one embedding);
`FaceSlot(k)` into `KeyframeInputs.characters`. A character's first sentence carries its name
("Mara: She has red hair.", or "Mara." without a description), so the plot's names can be
tied to the face in that slot.

At most `MAX_DESCRIPTIONS_PER_SHOT` (15) sentences fit a frame (App. C). When a shot has more,
sentences are kept in this order of priority: plot, style, scene heading, first sentence of
each character, scene elements, then the remaining character sentences taken round-robin
(every character's second sentence before anyone's third). The rest are reported in
`dropped_sentences` so the UI can warn. With at most 5 characters the first four groups
(at most 8 sentences) always fit.

Identifier text only ever contains words of `IDENTIFIER_VOCABULARY` (split on whitespace),
so a closed word-level tokenizer can be built from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.script.errors import ScriptError
from core.script.models import (
    MAX_CHARACTERS_PER_SHOT,
    MAX_DESCRIPTIONS_PER_SHOT,
    MAX_SENTENCE_WORDS,
    CameraAngle,
    CameraMotion,
    Scene,
    Script,
    Shot,
    ShotSize,
    TimeOfDay,
)

START_OF_FRAME = "<START_OF_FRAME>"
END_OF_FRAME = "<END_OF_FRAME>"
CHARACTERS_HEADER = "Characters:"
SCENE_HEADER = "Scene Elements:"
SHOT_HEADER = "Shot:"
TIME_HEADER = "Time:"
PLOT_HEADER = "Plot:"
STYLE_HEADER = "Style:"


def slot_marker(slot: int) -> str:
    """The identifier naming character slot `slot` ("<char_0>" .. "<char_4>")."""
    if not 0 <= slot < MAX_CHARACTERS_PER_SHOT:
        raise ValueError(f"slot {slot} does not exist; slots are 0 to {MAX_CHARACTERS_PER_SHOT - 1}")
    return f"<char_{slot}>"


def _vocabulary() -> tuple[str, ...]:
    words: list[str] = [START_OF_FRAME, END_OF_FRAME]
    for header in (CHARACTERS_HEADER, SCENE_HEADER, SHOT_HEADER, TIME_HEADER, PLOT_HEADER, STYLE_HEADER):
        words.extend(header.split())
    words.extend(slot_marker(k) for k in range(MAX_CHARACTERS_PER_SHOT))
    for enum in (ShotSize, CameraAngle, CameraMotion, TimeOfDay):
        words.extend(member.value for member in enum)
    return tuple(dict.fromkeys(words))


# Every word identifier text can contain, in a fixed order (a tokenizer may number them so).
IDENTIFIER_VOCABULARY: tuple[str, ...] = _vocabulary()


@dataclass(frozen=True)
class Identifier:
    """Structural text, tokenised by the LLM tokenizer (words of IDENTIFIER_VOCABULARY)."""

    text: str


@dataclass(frozen=True)
class Description:
    """One description sentence: `KeyframeInputs.sentences[index]`, encoded as one embedding."""

    index: int


@dataclass(frozen=True)
class FaceSlot:
    """The face embedding of `KeyframeInputs.characters[slot]`."""

    slot: int


@dataclass(frozen=True)
class VisualTokens:
    """Where the frame's L visual tokens go (predicted by the AR model, or given as context)."""


Segment = Identifier | Description | FaceSlot | VisualTokens


@dataclass(frozen=True)
class CharacterSlot:
    """A character placed in face slot `slot`: its cast name and face photo references."""

    slot: int
    name: str
    photos: tuple[str, ...]


@dataclass(frozen=True)
class KeyframeInputs:
    """Everything the models read for one keyframe (one shot)."""

    scene_index: int
    shot_index: int
    frame_index: int  # position in Script.shots(), 0-based
    items: tuple[Segment, ...]
    sentences: tuple[str, ...]
    characters: tuple[CharacterSlot, ...]
    dropped_sentences: tuple[str, ...]
    # What a decoder that reads the shot sentence gets (`sentences_for_decoder`): the same
    # sentences with `shot_sentence(...)` before the plot, at most 15 by the same priorities.
    # The AR model never reads it (its identifiers carry the shot already).
    decoder_sentences: tuple[str, ...] = ()

    def sentences_for_decoder(self, reads_shot_sentence: bool) -> tuple[str, ...]:
        """The description sentences a keyframe decoder reads: with the shot sentence when the
        decoder was trained with it (its conditioner's `reads_shot_sentence`)."""
        if reads_shot_sentence and self.decoder_sentences:
            return self.decoder_sentences
        return self.sentences

    @property
    def identifier_text(self) -> str:
        """All identifier segments joined by spaces (what the word tokenizer sees, in order)."""
        return " ".join(item.text for item in self.items if isinstance(item, Identifier))


def keyframe_inputs(script: Script) -> list[KeyframeInputs]:
    """The inputs of every keyframe of `script`, in story order."""
    frames: list[KeyframeInputs] = []
    for s, scene in enumerate(script.scenes):
        for k, shot in enumerate(scene.shots):
            frames.append(_frame(script, scene, shot, s, k, len(frames)))
    return frames


def keyframe_inputs_for_shot(script: Script, scene_index: int, shot_index: int) -> KeyframeInputs:
    """The inputs of one keyframe (0-based scene and shot index)."""
    if not 0 <= scene_index < len(script.scenes):
        raise IndexError(
            f"scene index {scene_index} is out of range; the script has {len(script.scenes)} scenes"
        )
    scene = script.scenes[scene_index]
    if not 0 <= shot_index < len(scene.shots):
        raise IndexError(
            f"shot index {shot_index} is out of range; scene {scene_index + 1} has {len(scene.shots)} shots"
        )
    frame_index = sum(len(earlier.shots) for earlier in script.scenes[:scene_index]) + shot_index
    return _frame(script, scene, scene.shots[shot_index], scene_index, shot_index, frame_index)


# -- one frame ---------------------------------------------------------------------------------


@dataclass
class _Candidate:
    """A sentence that may enter the frame: its text, where it goes, and how much it matters."""

    text: str
    place: tuple[int, int, int]  # (section, slot, position): the order inside the frame
    priority: tuple[int, int, int]  # lower is kept first


_CHARACTERS, _SCENE, _PLOT, _STYLE = range(4)


def shot_sentence(shot: Shot, time_of_day: TimeOfDay) -> str:
    """The shot's framing and time as one sentence, e.g. "A close up shot from a low angle, at night."

    The decoder reads shot size only from this sentence or its visual tokens, and 32 token
    numbers carry little of it (a linear probe on the toy world's tokens reads shot size at 0.37).
    """
    size, angle = (value.replace("-", " ") for value in (shot.size.value, shot.angle.value))
    when = "during the day" if time_of_day is TimeOfDay.DAY else f"at {time_of_day.value}"
    return f"{_article(size).capitalize()} {size} shot from {_article(angle)} {angle} angle, {when}."


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _frame(
    script: Script, scene: Scene, shot: Shot, scene_index: int, shot_index: int, frame_index: int
) -> KeyframeInputs:
    where = f"scene {scene_index + 1}, shot {shot_index + 1}"
    # The Script validator checks these, but lists mutated in place bypass it.
    if len(shot.characters) > MAX_CHARACTERS_PER_SHOT:
        raise ScriptError.at(
            f"{where}, characters",
            f"{len(shot.characters)} characters are in this shot but the model can place at most "
            f"{MAX_CHARACTERS_PER_SHOT} per keyframe (the model's limit); name fewer characters",
        )
    slots: list[CharacterSlot] = []
    candidates: list[_Candidate] = []
    for slot, listed in enumerate(shot.characters):
        try:
            character = script.character(listed)
        except KeyError:
            raise ScriptError.at(
                f"{where}, character {slot + 1}",
                f"the character {listed!r} is not in the cast; add them to the cast or fix the spelling",
            ) from None
        slots.append(CharacterSlot(slot, character.name, tuple(character.photos)))
        for position, (text, rank) in enumerate(_character_sentences(character.name, character.description)):
            # rank 0 is the named first sentence (priority group 3); later ones go round-robin.
            priority = (3, slot, 0) if rank == 0 else (5, rank, slot)
            candidates.append(_Candidate(text, (_CHARACTERS, slot, position), priority))
    candidates.append(_Candidate(scene.heading, (_SCENE, 0, 0), (2, 0, 0)))
    for position, element in enumerate(scene.elements, start=1):
        candidates.append(_Candidate(element, (_SCENE, 0, position), (4, position, 0)))
    candidates.append(_Candidate(shot.plot, (_PLOT, 0, 0), (0, 0, 0)))
    style = scene.style if scene.style else script.style
    if style:
        candidates.append(_Candidate(style, (_STYLE, 0, 0), (1, 0, 0)))

    ranked = sorted(candidates, key=lambda c: c.priority)
    kept = sorted(ranked[:MAX_DESCRIPTIONS_PER_SHOT], key=lambda c: c.place)
    # The decoder's list: the shot sentence sits after the scene elements (where the Shot:
    # identifier is) and is kept right after the plot.
    framing = _Candidate(shot_sentence(shot, scene.time_of_day), (_SCENE, 1, 0), (0, 1, 0))
    decoder_kept = sorted(
        sorted(candidates + [framing], key=lambda c: c.priority)[:MAX_DESCRIPTIONS_PER_SHOT],
        key=lambda c: c.place,
    )
    dropped = tuple(c.text for c in ranked[MAX_DESCRIPTIONS_PER_SHOT:])
    index_of = {id(c): i for i, c in enumerate(kept)}

    def descriptions(section: int, slot: int = 0) -> list[Segment]:
        return [Description(index_of[id(c)]) for c in kept if c.place[:2] == (section, slot)]

    items: list[Segment] = [Identifier(START_OF_FRAME), Identifier(CHARACTERS_HEADER)]
    for character_slot in slots:
        items += [Identifier(slot_marker(character_slot.slot)), FaceSlot(character_slot.slot)]
        items += descriptions(_CHARACTERS, character_slot.slot)
    items.append(Identifier(SCENE_HEADER))
    items += descriptions(_SCENE)
    items.append(Identifier(f"{SHOT_HEADER} {shot.size.value} {shot.angle.value} {shot.motion.value}"))
    items.append(Identifier(f"{TIME_HEADER} {scene.time_of_day.value}"))
    items.append(Identifier(PLOT_HEADER))
    items += descriptions(_PLOT)
    items.append(Identifier(STYLE_HEADER))
    items += descriptions(_STYLE)
    items += [VisualTokens(), Identifier(END_OF_FRAME)]
    return KeyframeInputs(
        scene_index=scene_index,
        shot_index=shot_index,
        frame_index=frame_index,
        items=tuple(items),
        sentences=tuple(c.text for c in kept),
        characters=tuple(slots),
        dropped_sentences=dropped,
        decoder_sentences=tuple(c.text for c in decoder_kept),
    )


def _character_sentences(name: str, description: list[str]) -> list[tuple[str, int]]:
    """A character's sentences with their rank (0 = the named first sentence).

    The name is prefixed to the first description sentence; when that would make it longer
    than the encoder reads, the name becomes a sentence of its own.
    """
    if not description:
        return [(f"{name}.", 0)]
    first = f"{name}: {description[0]}"
    if len(first.split()) <= MAX_SENTENCE_WORDS:
        return [(first, 0)] + [(text, rank) for rank, text in enumerate(description[1:], start=1)]
    return [(f"{name}.", 0)] + [(text, rank) for rank, text in enumerate(description, start=1)]
