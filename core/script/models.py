"""The multimodal script: what a user writes and what every model reads.

A `Script` holds a cast of `Character`s and a list of `Scene`s; each scene holds `Shot`s.
One shot is one keyframe. The structure follows the paper's multimodal script (3.3, App. A):
per keyframe the AR model reads its characters (name, description sentences, face), its
scene elements, its plot and its style. How a shot becomes model inputs is defined in one
place only: `core.script.inputs`.

Every rule below raises a pydantic error whose location points at the offending value
(list positions included), and whose message is a sentence for the user.
`core.script.errors` turns those into `ScriptError` problems with 1-based positions
("scene 3, shot 7, plot: ..."). Cross-references between the cast and the shots are
checked on the whole script and reported one problem per reference, also when other parts
of the script are invalid, so a user sees every problem at once.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

# The AR model and the ID-preserving decoder have room for 5 face slots per frame (paper 3.3).
MAX_CHARACTERS_PER_SHOT = 5
# The decoder's cross-attention holds at most 15 description embeddings per frame (App. C).
MAX_DESCRIPTIONS_PER_SHOT = 15
# all-MiniLM-L6-v2 truncates at 256 word pieces and was trained on 128; a sentence of more
# than 60 words would be silently cut by the encoder, so we refuse it instead.
MAX_SENTENCE_WORDS = 60
# A keyframe is held for its duration in the animatic; a minute is already very long.
MAX_SHOT_SECONDS = 60.0
MAX_NAME_LENGTH = 40
# Length limits in characters, so that no text field can hold megabytes: a sentence of 60
# words fits in 1,000 characters, a title in 120 (the studio's project names), free text
# (logline, notes, a spoken line) in 2,000. Longer text is refused with its limit, never cut.
MAX_TITLE_LENGTH = 120
MAX_SENTENCE_LENGTH = 1_000
MAX_TEXT_LENGTH = 2_000
SCHEMA_VERSION = 1


class ShotSize(StrEnum):
    EXTREME_WIDE = "extreme-wide"
    WIDE = "wide"
    FULL = "full"
    MEDIUM = "medium"
    CLOSE_UP = "close-up"
    EXTREME_CLOSE_UP = "extreme-close-up"


class CameraAngle(StrEnum):
    EYE_LEVEL = "eye-level"
    HIGH = "high"
    LOW = "low"
    OVERHEAD = "overhead"
    DUTCH = "dutch"


class CameraMotion(StrEnum):
    STATIC = "static"
    PAN_LEFT = "pan-left"
    PAN_RIGHT = "pan-right"
    TILT_UP = "tilt-up"
    TILT_DOWN = "tilt-down"
    ZOOM_IN = "zoom-in"
    ZOOM_OUT = "zoom-out"
    DOLLY_IN = "dolly-in"
    DOLLY_OUT = "dolly-out"
    TRACKING = "tracking"
    HANDHELD = "handheld"


class TimeOfDay(StrEnum):
    DAWN = "dawn"
    DAY = "day"
    SUNSET = "sunset"
    NIGHT = "night"


# -- problems as pydantic errors --------------------------------------------------------

Loc = tuple[str | int, ...]

# pydantic's own error types; anything else in an error list is one of ours (custom).
_BUILTIN_ERROR_TYPES = frozenset(typing.get_args(core_schema.ErrorType))


def _custom(kind: str, message: str, loc: Loc, value: Any) -> InitErrorDetails:
    """One problem at `loc` (relative to the validator raising it) with a finished message.

    The message goes in as a context value rather than as the template, so braces in user
    text (a name like "{x}") are never mistaken for placeholders.
    """
    return InitErrorDetails(
        type=PydanticCustomError(kind, "{message}", {"message": message}), loc=loc, input=value
    )


def _raise(title: str, problems: list[InitErrorDetails]) -> None:
    # A ValidationError raised inside a validator is merged by pydantic into the outer error
    # with the outer location prefixed, so each problem keeps its own position.
    raise ValidationError.from_exception_data(title, problems)


def _reissue(error: ValidationError) -> Iterator[InitErrorDetails]:
    """The line errors of `error` in a form `ValidationError.from_exception_data` accepts."""
    for line in error.errors(include_url=False):
        if line["type"] in _BUILTIN_ERROR_TYPES:
            details = InitErrorDetails(type=line["type"], loc=line["loc"], input=line["input"])
            if "ctx" in line:
                details["ctx"] = line["ctx"]
            yield details
        else:
            yield _custom(line["type"], line["msg"], line["loc"], line["input"])


def _sentence_problem(sentence: str) -> str | None:
    """Why a description sentence cannot be encoded, or None if it can."""
    if not sentence.strip():
        return "a description sentence is empty; delete it or write something in it"
    if len(sentence) > MAX_SENTENCE_LENGTH:
        return (
            f"this sentence has {len(sentence):,} characters but a sentence may have at most "
            f"{MAX_SENTENCE_LENGTH:,}; shorten it"
        )
    words = len(sentence.split())
    if words > MAX_SENTENCE_WORDS:
        return (
            f"this sentence has {words} words but the description encoder reads at most "
            f"{MAX_SENTENCE_WORDS}; split it into shorter sentences"
        )
    return None


def _check_sentence(value: str) -> str:
    problem = _sentence_problem(value)
    if problem:
        kind = "empty_sentence" if not value.strip() else "sentence_too_long"
        raise PydanticCustomError(kind, "{message}", {"message": problem})
    return value


def _check_optional_sentence(value: str | None) -> str | None:
    """A style sentence may be empty (no style) but, when given, must fit the encoder."""
    if value is None or not value.strip():
        return value
    return _check_sentence(value)


# Every text the description encoder reads is one of these.
# (The schema states the character limit that _sentence_problem enforces with its own words.)
_SENTENCE_SCHEMA = Field(json_schema_extra={"maxLength": MAX_SENTENCE_LENGTH})
Sentence = Annotated[str, AfterValidator(_check_sentence), _SENTENCE_SCHEMA]
OptionalSentence = Annotated[str, AfterValidator(_check_optional_sentence), _SENTENCE_SCHEMA]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)


class DialogueLine(_Strict):
    """One spoken line: who speaks, an optional parenthetical, and the words."""

    character: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="Name of the speaker.")
    text: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH, description="The words spoken.")
    parenthetical: str = Field(
        default="",
        max_length=MAX_SENTENCE_LENGTH,
        description="How the line is said, without parentheses (e.g. 'whispering').",
    )


class Character(_Strict):
    """A cast member. `photos` are references (paths relative to the project, or media ids)."""

    name: str = Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="Unique name (case-insensitive) used by shots to refer to this character.",
    )
    description: list[Sentence] = Field(
        default_factory=list,
        description=(
            "Appearance sentences; each becomes one description embedding "
            f"(at most {MAX_SENTENCE_WORDS} words each)."
        ),
    )
    photos: list[str] = Field(
        default_factory=list,
        description="Face photos of this character: paths relative to the project, or media ids.",
    )


class Shot(_Strict):
    """One keyframe of the storyboard."""

    # json_schema_extra states in the published schema what the validators below enforce
    # (with their own messages, which pydantic's built-in constraints would replace).
    plot: str = Field(
        description=f"One sentence saying what happens in this shot (at most {MAX_SENTENCE_WORDS} words).",
        json_schema_extra={"minLength": 1, "maxLength": MAX_SENTENCE_LENGTH},
    )
    characters: list[str] = Field(
        default_factory=list,
        description=(
            f"Cast names visible in this shot, most important first (at most {MAX_CHARACTERS_PER_SHOT})."
        ),
        json_schema_extra={"maxItems": MAX_CHARACTERS_PER_SHOT},
    )
    size: ShotSize = Field(default=ShotSize.MEDIUM, description="Shot size.")
    angle: CameraAngle = Field(default=CameraAngle.EYE_LEVEL, description="Camera angle.")
    motion: CameraMotion = Field(default=CameraMotion.STATIC, description="Camera motion.")
    duration: float = Field(
        default=3.0,
        description=f"Seconds this shot lasts in the animatic (0 < duration <= {MAX_SHOT_SECONDS:g}).",
        json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_SHOT_SECONDS},
    )
    dialogue: list[DialogueLine] = Field(default_factory=list, description="Lines spoken in this shot.")
    notes: str = Field(
        default="", max_length=MAX_TEXT_LENGTH, description="Free notes for the team; no model reads them."
    )

    @field_validator("plot")
    @classmethod
    def _plot_present(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError(
                "empty_plot",
                "the plot is empty; write one sentence saying what happens in this shot",
            )
        return _check_sentence(value)

    @field_validator("duration")
    @classmethod
    def _duration_sane(cls, value: float) -> float:
        if not value > 0:
            raise PydanticCustomError(
                "duration_not_positive",
                "{message}",
                {"message": f"the duration is {value:g} s; a shot must last more than 0 seconds"},
            )
        if value > MAX_SHOT_SECONDS:
            raise PydanticCustomError(
                "duration_too_long",
                "{message}",
                {
                    "message": (
                        f"the duration is {value:g} s; a shot may last at most {MAX_SHOT_SECONDS:g} s, "
                        "split longer action into several shots"
                    )
                },
            )
        return value

    @field_validator("characters")
    @classmethod
    def _characters_fit(cls, value: list[str]) -> list[str]:
        problems: list[InitErrorDetails] = []
        seen: dict[str, int] = {}
        for j, name in enumerate(value):
            key = name.casefold()
            if key in seen:
                problems.append(
                    _custom(
                        "duplicate_character_in_shot",
                        f"the character {name!r} is listed twice in this shot (also as character "
                        f"{seen[key] + 1}); list each character once",
                        (j,),
                        name,
                    )
                )
            else:
                seen[key] = j
        if len(value) > MAX_CHARACTERS_PER_SHOT:
            problems.append(
                _custom(
                    "too_many_characters",
                    f"{len(value)} characters are in this shot but the model can place at most "
                    f"{MAX_CHARACTERS_PER_SHOT} per keyframe (the model's limit); split the shot "
                    "or name fewer characters",
                    (),
                    value,
                )
            )
        if problems:
            _raise("Shot", problems)
        return value


class Scene(_Strict):
    """A continuous piece of action in one place and time."""

    heading: str = Field(
        description="Where the scene happens, e.g. 'EXT. BEACH - SUNSET'; read as one description sentence.",
        json_schema_extra={"maxLength": MAX_SENTENCE_LENGTH},
    )
    time_of_day: TimeOfDay = Field(default=TimeOfDay.DAY, description="Time of day of the whole scene.")
    elements: list[Sentence] = Field(
        default_factory=list, description="Sentences describing the place and its props."
    )
    style: OptionalSentence | None = Field(
        default=None, description="Visual style of this scene; empty or null uses the script's style."
    )
    shots: list[Shot] = Field(default_factory=list, description="The keyframes of this scene, in order.")

    @field_validator("heading")
    @classmethod
    def _heading_present(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError(
                "empty_heading",
                "the scene heading is empty; say where the scene happens, e.g. 'EXT. BEACH - DAY'",
            )
        return _check_sentence(value)


class Script(_Strict):
    """A whole movie: cast and scenes. `style` applies wherever a scene sets none."""

    schema_version: int = Field(
        default=SCHEMA_VERSION, description=f"Version of this file format (currently {SCHEMA_VERSION})."
    )
    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH, description="Title of the movie.")
    logline: str = Field(
        default="", max_length=MAX_TEXT_LENGTH, description="One-line summary; no model reads it."
    )
    style: OptionalSentence = Field(
        default="", description="Visual style sentence for every scene that sets none, e.g. 'warm film'."
    )
    cast: list[Character] = Field(
        default_factory=list, description="Every character, each with a unique name."
    )
    scenes: list[Scene] = Field(default_factory=list, description="The scenes in story order.")

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > SCHEMA_VERSION:
            raise PydanticCustomError(
                "schema_version_newer",
                "{message}",
                {
                    "message": (
                        f"this script uses file format version {value} but this program reads "
                        f"version {SCHEMA_VERSION}; update MovieDreamer Studio to open it"
                    )
                },
            )
        if value < 1:
            raise PydanticCustomError(
                "schema_version_invalid",
                "{message}",
                {"message": f"the file format version {value} does not exist; use {SCHEMA_VERSION}"},
            )
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _references_resolve(cls, data: Any, handler: Any) -> Script:
        # On assignment (validate_assignment) pydantic hands us the instance and the handler
        # mutates it in place before we can judge the references; keep the old state so a
        # rejected assignment leaves the script as it was.
        before = (
            (dict(data.__dict__), set(data.__pydantic_fields_set__)) if isinstance(data, Script) else None
        )
        try:
            script = handler(data)
        except ValidationError as error:
            # The per-field errors stop pydantic before any after-validator runs; check the
            # references on the raw input as well so the user sees every problem at once.
            extra = _raw_reference_problems(data) if isinstance(data, dict) else []
            if not extra:
                raise
            _raise(cls.__name__, [*_reissue(error), *extra])
        problems = _reference_problems(
            [(i, c.name) for i, c in enumerate(script.cast)],
            [
                (s, k, j, name)
                for s, scene in enumerate(script.scenes)
                for k, shot in enumerate(scene.shots)
                for j, name in enumerate(shot.characters)
            ],
            [
                (s, k, j, line.character)
                for s, scene in enumerate(script.scenes)
                for k, shot in enumerate(scene.shots)
                for j, line in enumerate(shot.dialogue)
            ],
        )
        if problems:
            if before is not None and script is data:
                data.__dict__.clear()
                data.__dict__.update(before[0])
                data.__pydantic_fields_set__.clear()
                data.__pydantic_fields_set__.update(before[1])
            _raise(cls.__name__, problems)
        return script

    # -- convenience -----------------------------------------------------------------

    def character(self, name: str) -> Character:
        """The cast member called `name` (case-insensitive)."""
        for character in self.cast:
            if character.name.casefold() == name.casefold():
                return character
        raise KeyError(f"{name!r} is not in the cast")

    def shots(self) -> list[tuple[int, int, Shot]]:
        """Every shot in story order as (scene index, shot index, shot), 0-based."""
        return [(s, k, shot) for s, scene in enumerate(self.scenes) for k, shot in enumerate(scene.shots)]

    @property
    def num_shots(self) -> int:
        return sum(len(scene.shots) for scene in self.scenes)


# -- cross-references between cast and shots ---------------------------------------------

CastNames = list[tuple[int, str]]
ShotNames = list[tuple[int, int, int, str]]


def _reference_problems(
    cast: CastNames, mentions: ShotNames, speakers: ShotNames = (), *, cast_complete: bool = True
) -> list[InitErrorDetails]:
    """Duplicate cast names, and shots or dialogue lines naming someone outside the cast, one
    problem each (`speakers`: (scene, shot, line, name) of every dialogue line).

    `cast_complete` is False when some cast member's name could not be read; then a shot
    reference cannot be judged (it may name that member) and only duplicates are reported.
    """
    problems: list[InitErrorDetails] = []
    first: dict[str, int] = {}
    for i, name in cast:
        key = name.casefold()
        if key in first:
            problems.append(
                _custom(
                    "duplicate_cast_name",
                    f"the name {name!r} is already used by cast member {first[key] + 1}; "
                    "give every character a different name",
                    ("cast", i, "name"),
                    name,
                )
            )
        else:
            first[key] = i
    if not cast_complete:
        return problems
    for s, k, j, name in mentions:
        if name.casefold() not in first:
            problems.append(
                _custom(
                    "unknown_character",
                    f"the character {name!r} is not in the cast; add them to the cast or fix the spelling",
                    ("scenes", s, "shots", k, "characters", j),
                    name,
                )
            )
    for s, k, j, name in speakers:
        if name.casefold() not in first:
            problems.append(
                _custom(
                    "unknown_speaker",
                    f"{name!r} speaks this line but is not in the cast; add them to the cast "
                    "or fix the spelling",
                    ("scenes", s, "shots", k, "dialogue", j, "character"),
                    name,
                )
            )
    return problems


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _field(item: Any, name: str) -> Any:
    if isinstance(item, dict):
        return item.get(name)
    if isinstance(item, BaseModel):
        return getattr(item, name, None)
    return None


def _raw_reference_problems(data: dict[str, Any]) -> list[InitErrorDetails]:
    """The cross-reference problems of unvalidated input, as far as it can be read."""
    raw_cast = data.get("cast", [])
    cast: CastNames = []
    complete = isinstance(raw_cast, list)
    for i, member in enumerate(_items(raw_cast)):
        name = _field(member, "name")
        if isinstance(name, str) and name.strip():
            cast.append((i, name.strip()))
        else:
            complete = False
    mentions: ShotNames = [
        (s, k, j, name.strip())
        for s, scene in enumerate(_items(data.get("scenes")))
        for k, shot in enumerate(_items(_field(scene, "shots")))
        for j, name in enumerate(_items(_field(shot, "characters")))
        if isinstance(name, str) and name.strip()
    ]
    speakers: ShotNames = [
        (s, k, j, name.strip())
        for s, scene in enumerate(_items(data.get("scenes")))
        for k, shot in enumerate(_items(_field(scene, "shots")))
        for j, line in enumerate(_items(_field(shot, "dialogue")))
        for name in [_field(line, "character")]
        if isinstance(name, str) and name.strip()
    ]
    return _reference_problems(cast, mentions, speakers, cast_complete=complete)
