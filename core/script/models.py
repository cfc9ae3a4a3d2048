"""The multimodal script: what a user writes and what every model reads.

A `Script` holds a cast of `Character`s and a list of `Scene`s; each scene holds `Shot`s.
One shot is one keyframe. The structure follows the paper's multimodal script (3.3, App. A):
per keyframe the AR model reads its characters (name, description sentences, face), its
scene elements, its plot and its style.

Validation problems are reported with 1-based positions ("scene 3, shot 7") by
`core.script.errors.ScriptError`; the raw pydantic errors are translated there.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
SCHEMA_VERSION = 1


class ShotSize(str, Enum):
    EXTREME_WIDE = "extreme-wide"
    WIDE = "wide"
    FULL = "full"
    MEDIUM = "medium"
    CLOSE_UP = "close-up"
    EXTREME_CLOSE_UP = "extreme-close-up"


class CameraAngle(str, Enum):
    EYE_LEVEL = "eye-level"
    HIGH = "high"
    LOW = "low"
    OVERHEAD = "overhead"
    DUTCH = "dutch"


class CameraMotion(str, Enum):
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


class TimeOfDay(str, Enum):
    DAWN = "dawn"
    DAY = "day"
    SUNSET = "sunset"
    NIGHT = "night"


def _sentence_problem(sentence: str) -> str | None:
    """Why a description sentence cannot be encoded, or None if it can."""
    if not sentence.strip():
        return "a description sentence is empty; delete it or write something in it"
    words = len(sentence.split())
    if words > MAX_SENTENCE_WORDS:
        return (
            f"a sentence has {words} words but the description encoder reads at most "
            f"{MAX_SENTENCE_WORDS}; split it into shorter sentences"
        )
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)


class DialogueLine(_Strict):
    """One spoken line: who speaks, an optional parenthetical, and the words."""

    character: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    text: str = Field(min_length=1)
    parenthetical: str = ""


class Character(_Strict):
    """A cast member. `photos` are references (paths relative to the project, or media ids)."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    description: list[str] = Field(default_factory=list)
    photos: list[str] = Field(default_factory=list)

    @field_validator("description")
    @classmethod
    def _sentences_fit(cls, value: list[str]) -> list[str]:
        for sentence in value:
            problem = _sentence_problem(sentence)
            if problem:
                raise ValueError(problem)
        return value


class Shot(_Strict):
    """One keyframe of the storyboard."""

    plot: str
    characters: list[str] = Field(default_factory=list)
    size: ShotSize = ShotSize.MEDIUM
    angle: CameraAngle = CameraAngle.EYE_LEVEL
    motion: CameraMotion = CameraMotion.STATIC
    duration: float = 3.0
    dialogue: list[DialogueLine] = Field(default_factory=list)
    notes: str = ""

    @field_validator("plot")
    @classmethod
    def _plot_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the plot is empty; write one sentence saying what happens in this shot")
        problem = _sentence_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("duration")
    @classmethod
    def _duration_sane(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"the duration is {value:g} s; a shot must last more than 0 seconds")
        if value > MAX_SHOT_SECONDS:
            raise ValueError(
                f"the duration is {value:g} s; a shot may last at most {MAX_SHOT_SECONDS:g} s, "
                "split longer action into several shots"
            )
        return value

    @field_validator("characters")
    @classmethod
    def _characters_fit(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_CHARACTERS_PER_SHOT:
            raise ValueError(
                f"{len(value)} characters are in this shot but the model can place at most "
                f"{MAX_CHARACTERS_PER_SHOT} per keyframe; split the shot or name fewer characters"
            )
        seen: set[str] = set()
        for name in value:
            key = name.casefold()
            if key in seen:
                raise ValueError(f"the character {name!r} is listed twice in this shot")
            seen.add(key)
        return value


class Scene(_Strict):
    """A continuous piece of action in one place and time."""

    heading: str = Field(min_length=1)
    time_of_day: TimeOfDay = TimeOfDay.DAY
    elements: list[str] = Field(default_factory=list)
    style: str | None = None
    shots: list[Shot] = Field(default_factory=list)

    @field_validator("elements")
    @classmethod
    def _elements_fit(cls, value: list[str]) -> list[str]:
        for sentence in value:
            problem = _sentence_problem(sentence)
            if problem:
                raise ValueError(problem)
        return value


class Script(_Strict):
    """A whole movie: cast and scenes. `style` applies wherever a scene sets none."""

    schema_version: int = SCHEMA_VERSION
    title: str = Field(min_length=1)
    logline: str = ""
    style: str = ""
    cast: list[Character] = Field(default_factory=list)
    scenes: list[Scene] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> "Script":
        problems: list[str] = []
        names: dict[str, int] = {}
        for i, character in enumerate(self.cast, start=1):
            key = character.name.casefold()
            if key in names:
                problems.append(
                    f"cast member {i}: the name {character.name!r} is already used by cast "
                    f"member {names[key]}; give every character a different name"
                )
            else:
                names[key] = i
        for s, scene in enumerate(self.scenes, start=1):
            for k, shot in enumerate(scene.shots, start=1):
                for name in shot.characters:
                    if name.casefold() not in names:
                        problems.append(
                            f"scene {s}, shot {k}: the character {name!r} is not in the cast; "
                            "add them to the cast or fix the spelling"
                        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

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
