"""The multimodal script (paper 3.3, App. A): models, validation, import and model inputs."""

from core.script.models import (
    MAX_CHARACTERS_PER_SHOT,
    MAX_DESCRIPTIONS_PER_SHOT,
    MAX_SENTENCE_WORDS,
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

__all__ = [
    "MAX_CHARACTERS_PER_SHOT",
    "MAX_DESCRIPTIONS_PER_SHOT",
    "MAX_SENTENCE_WORDS",
    "MAX_SHOT_SECONDS",
    "CameraAngle",
    "CameraMotion",
    "Character",
    "DialogueLine",
    "Scene",
    "Script",
    "Shot",
    "ShotSize",
    "TimeOfDay",
]
