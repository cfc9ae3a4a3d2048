"""The multimodal script (paper 3.3, App. A): models, validation, import and model inputs.

* `models`     - Script, Character, Scene, Shot, DialogueLine, the enums and limits;
* `errors`     - ScriptError / Problem: every problem with a 1-based location;
* `io`         - JSON reading and writing (canonical, round-trips exactly);
* `inputs`     - THE definition of what the models read per keyframe (KeyframeInputs);
* `fountain`   - Fountain screenplay importer;
* `moviebench` - MovieBench shot-annotation importer;
* `schema`     - the published JSON Schema (`python -m core.script.schema [--check]`).
"""

from core.script.errors import Problem, ScriptError
from core.script.fountain import script_from_fountain
from core.script.inputs import (
    IDENTIFIER_VOCABULARY,
    CharacterSlot,
    Description,
    FaceSlot,
    Identifier,
    KeyframeInputs,
    VisualTokens,
    keyframe_inputs,
    keyframe_inputs_for_shot,
)
from core.script.io import load_script, script_from_dict, script_from_json, script_to_json
from core.script.models import (
    MAX_CHARACTERS_PER_SHOT,
    MAX_DESCRIPTIONS_PER_SHOT,
    MAX_SENTENCE_LENGTH,
    MAX_SENTENCE_WORDS,
    MAX_SHOT_SECONDS,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
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
from core.script.moviebench import load_moviebench, script_from_moviebench

__all__ = [
    "IDENTIFIER_VOCABULARY",
    "MAX_CHARACTERS_PER_SHOT",
    "MAX_DESCRIPTIONS_PER_SHOT",
    "MAX_SENTENCE_LENGTH",
    "MAX_SENTENCE_WORDS",
    "MAX_SHOT_SECONDS",
    "MAX_TEXT_LENGTH",
    "MAX_TITLE_LENGTH",
    "CameraAngle",
    "CameraMotion",
    "Character",
    "CharacterSlot",
    "Description",
    "DialogueLine",
    "FaceSlot",
    "Identifier",
    "KeyframeInputs",
    "Problem",
    "Scene",
    "Script",
    "ScriptError",
    "Shot",
    "ShotSize",
    "TimeOfDay",
    "VisualTokens",
    "keyframe_inputs",
    "keyframe_inputs_for_shot",
    "load_moviebench",
    "load_script",
    "script_from_dict",
    "script_from_fountain",
    "script_from_json",
    "script_from_moviebench",
    "script_to_json",
]
