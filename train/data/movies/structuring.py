"""Stage 5, script structuring (paper App. B): captions -> a validated `core.script.Script`.

A language model from a local folder (transformers text-generation) is prompted in the
paper's three steps for every keyframe:

    1. fuse    the keyframe caption and the captions of the characters in it (named, left
               to right) into one description;
    2. extract the scene elements (place, props, light) and the plot (one sentence);
    3. format  those notes as a JSON object {"heading", "time_of_day", "elements", "plot",
               "size", "angle"}.

The answer of step 3 is parsed and validated against `core.script` (as a one-shot script
with the film's cast); an invalid answer is asked again with the problems quoted (sampling
from the second attempt on), up to `max_attempts`, and then the video fails with those
problems and every answer logged in `structuring-attempts.jsonl` beside the stage folders.

Which characters are in a shot is not left to the model: it is the characters whose faces
stage 3 assigned in that keyframe, left to right. Consecutive shots with the same heading and
time of day form a scene. Shot durations come from the keyframe times; the camera motion of
a film is not estimated (static). No dialogue is extracted (there is no audio stage).

Toy-cinema videos may be structured from their recorded ground truth instead
(`GroundTruthStructurer`: headings, scene elements, shot size and angle from the record,
plots from the captions); other videos without a configured LLM are refused.

Output folder: `script.json` (core.script canonical JSON).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from core.script import (
    MAX_CHARACTERS_PER_SHOT,
    MAX_SENTENCE_WORDS,
    MAX_SHOT_SECONDS,
    CameraAngle,
    Script,
    ScriptError,
    ShotSize,
    TimeOfDay,
    script_from_dict,
    script_to_json,
)
from train.data.movies.captions import CharacterCaption
from train.data.movies.characters import Casting
from train.data.movies.errors import VideoError
from train.data.movies.keyframes import KeyframeSet
from train.data.movies.people import PeopleSet
from train.data.movies.toy_video import ToyGroundTruth

logger = logging.getLogger(__name__)

SCRIPT_FILE = "script.json"
ATTEMPTS_FILE = "structuring-attempts.jsonl"
MAX_SCENE_ELEMENTS = 6

FUSE_PROMPT = (
    "Here is a description of a frame of a movie and of the people in it.\n"
    "Frame: {frame}\n"
    "People, from left to right: {people}\n"
    "Write one paragraph that describes the frame and calls each person by their name."
)
EXTRACT_PROMPT = (
    "From this description of a movie frame, write two things: the scene elements (the place, its "
    "props and the light, as short sentences) and the plot (one sentence saying what happens).\n\n"
    "Description: {description}"
)
FORMAT_PROMPT = (
    "Turn these notes into a JSON object with exactly these keys: "
    '"heading" (where, like "EXT. BEACH - DAY" or "INT. KITCHEN - NIGHT"), '
    '"time_of_day" (one of: {times}), "elements" (a list of short sentences about the place), '
    '"plot" (one sentence of at most {words} words saying what happens), '
    '"size" (one of: {sizes}), "angle" (one of: {angles}). '
    "The people in the frame are: {names}. Answer with the JSON object only.\n\n"
    "Notes: {notes}"
)
RETRY_PROMPT = (
    "\n\nYour previous answer could not be used: {problems} Answer again with the JSON object only."
)


@dataclass(frozen=True)
class StructuringConfig:
    llm: str | None = None  # local transformers text-generation folder
    max_attempts: int = 3  # answers asked for per keyframe before the video fails
    max_new_tokens: int = 256
    temperature: float = 0.7  # sampling temperature of the retries (the first answer is greedy)
    seed: int = 0


@dataclass
class ShotDraft:
    """One keyframe's shot and the scene it belongs to, before scenes are formed."""

    scene_key: Any
    heading: str
    time_of_day: str
    elements: list[str]
    shot: dict[str, Any] = field(default_factory=dict)


class Structurer(Protocol):
    name: str

    def draft(
        self, index: int, caption: str, people: list[CharacterCaption], shot: dict[str, Any]
    ) -> ShotDraft:
        """The shot of keyframe `index`; `shot` already holds characters and duration."""
        ...


def sentences(text: str) -> list[str]:
    """Caption text -> description sentences, each short enough for the description encoder."""
    out = []
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        words = sentence.split()
        # A VLM may write one endless sentence; the encoder reads at most MAX_SENTENCE_WORDS words,
        # so it is cut into pieces rather than truncated by the encoder without a word.
        for start in range(0, len(words), MAX_SENTENCE_WORDS):
            piece = " ".join(words[start : start + MAX_SENTENCE_WORDS])
            if piece:
                out.append(piece)
    return out


def _choices(enum) -> str:
    return ", ".join(member.value for member in enum)


class StructuringFailed(ValueError):
    """An answer of the language model that is not a usable shot."""


def parse_shot_answer(answer: str, shot: dict[str, Any], cast: list[str]) -> ShotDraft:
    """Parse and validate the JSON object of a step-3 answer; raises StructuringFailed with the problems."""
    start = answer.find("{")
    if start < 0:
        raise StructuringFailed("the answer holds no JSON object (no '{').")
    try:
        data, _ = json.JSONDecoder().raw_decode(answer[start:])
    except json.JSONDecodeError as error:
        raise StructuringFailed(
            f"the JSON object is not valid JSON ({error.msg} at character {error.pos})."
        ) from None
    if not isinstance(data, dict):
        raise StructuringFailed("the answer's JSON is not an object with keys.")
    missing = [key for key in ("heading", "plot") if not isinstance(data.get(key), str)]
    if missing:
        raise StructuringFailed(f"the JSON object lacks the text field(s) {', '.join(missing)}.")
    elements = data.get("elements", [])
    if isinstance(elements, str):
        elements = [elements]
    if not isinstance(elements, list) or not all(isinstance(e, str) for e in elements):
        raise StructuringFailed('"elements" must be a list of sentences.')
    time_of_day = data.get("time_of_day", TimeOfDay.DAY.value)
    candidate = {
        "title": "shot",
        "cast": [{"name": name} for name in cast],
        "scenes": [
            {
                "heading": data["heading"],
                "time_of_day": time_of_day,
                "elements": [e for e in elements if e.strip()][:MAX_SCENE_ELEMENTS],
                "shots": [
                    {
                        **shot,
                        "plot": data["plot"],
                        "size": data.get("size", ShotSize.MEDIUM.value),
                        "angle": data.get("angle", CameraAngle.EYE_LEVEL.value),
                    }
                ],
            }
        ],
    }
    try:
        checked = script_from_dict(candidate)
    except ScriptError as error:
        raise StructuringFailed(" ".join(f"{p.where}: {p.message}." for p in error.problems)) from None
    scene = checked.scenes[0]
    return ShotDraft(
        scene_key=(scene.heading.casefold(), scene.time_of_day.value),
        heading=scene.heading,
        time_of_day=scene.time_of_day.value,
        elements=list(scene.elements),
        shot=scene.shots[0].model_dump(mode="json"),
    )


class LlmStructurer:
    """The paper's three prompts through a local transformers text-generation model."""

    def __init__(self, folder: str | Path, config: StructuringConfig):
        from transformers import pipeline

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder} is not a transformers model folder (no config.json); give --llm the local folder "
                "of a text-generation model (e.g. a LLaMA checkpoint saved with save_pretrained)."
            )
        if config.max_attempts < 1:
            raise ValueError(f"max_attempts is {config.max_attempts}; ask the model at least once.")
        self.folder = folder
        self.name = f"llm:{folder.resolve()}"
        self.config = config
        self.pipe = pipeline("text-generation", model=str(folder), device="cpu")
        self.chat = bool(getattr(self.pipe.tokenizer, "chat_template", None))
        self.cast: list[str] = []
        self.log: Path | None = None
        self.video = ""

    def start(self, video: str, cast: list[str], log: Path) -> None:
        """Begin a film: its cast names and where every answer is logged."""
        self.video, self.cast, self.log = video, cast, log
        log.write_text("", encoding="utf-8")

    def _generate(self, prompt: str, attempt: int) -> str:
        prompt_input: Any = [{"role": "user", "content": prompt}] if self.chat else prompt
        options: dict[str, Any] = {"max_new_tokens": self.config.max_new_tokens, "return_full_text": False}
        if attempt == 0:
            options["do_sample"] = False
            out = self.pipe(prompt_input, **options)
        else:
            options.update(do_sample=True, temperature=self.config.temperature)
            # Retries sample, seeded per attempt so a rerun asks the same questions and gets the
            # same answers; fork_rng keeps the seeding from leaking into the caller's RNG.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.config.seed + attempt)
                out = self.pipe(prompt_input, **options)
        text = out[0]["generated_text"]
        if isinstance(text, list):  # chat input: the answer is the last message
            text = text[-1]["content"]
        return str(text).strip()

    def _record(self, entry: dict[str, Any]) -> None:
        if self.log is not None:
            with open(self.log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def draft(
        self, index: int, caption: str, people: list[CharacterCaption], shot: dict[str, Any]
    ) -> ShotDraft:
        described = "; ".join(f"{p.name} ({p.caption or 'no description'})" for p in people) or "nobody"
        fused = self._generate(FUSE_PROMPT.format(frame=caption or "(no caption)", people=described), 0)
        notes = self._generate(EXTRACT_PROMPT.format(description=fused or caption), 0)
        question = FORMAT_PROMPT.format(
            times=_choices(TimeOfDay),
            words=MAX_SENTENCE_WORDS,
            sizes=_choices(ShotSize),
            angles=_choices(CameraAngle),
            names=", ".join(shot["characters"]) or "nobody",
            notes=notes or fused or caption,
        )
        self._record({"keyframe": index, "step": "fuse", "answer": fused})
        self._record({"keyframe": index, "step": "extract", "answer": notes})
        problems = ""
        answer = ""
        for attempt in range(self.config.max_attempts):
            prompt = question + (RETRY_PROMPT.format(problems=problems) if attempt else "")
            answer = self._generate(prompt, attempt)
            try:
                draft = parse_shot_answer(answer, shot, self.cast)
            except StructuringFailed as error:
                problems = str(error)
                self._record(
                    {
                        "keyframe": index,
                        "step": "format",
                        "attempt": attempt + 1,
                        "answer": answer,
                        "problems": problems,
                    }
                )
                continue
            self._record({"keyframe": index, "step": "format", "attempt": attempt + 1, "answer": answer})
            return draft
        excerpt = answer[:120] + ("..." if len(answer) > 120 else "")
        raise VideoError(
            f"The language model {self.folder} gave no valid shot for keyframe {index + 1} of {self.video} in "
            f"{self.config.max_attempts} attempts. The last answer ({excerpt!r}) had these problems: {problems} "
            f"Every answer is logged in {self.log}. Use an instruction-tuned model that writes JSON (--llm) "
            "or allow more attempts (--llm-attempts)."
        )


class GroundTruthStructurer:
    """Scene headings, elements, shot size and angle read from a toy-cinema video's record."""

    name = "ground-truth"

    def __init__(self, truth: ToyGroundTruth, keyframes: KeyframeSet):
        self.truth = truth
        self.keyframes = keyframes

    def draft(
        self, index: int, caption: str, people: list[CharacterCaption], shot: dict[str, Any]
    ) -> ShotDraft:
        record = self.truth.shot_at(self.keyframes.keyframes[index].frame)
        return ShotDraft(
            scene_key=record["scene"],
            heading=record["heading"],
            time_of_day=record["time_of_day"],
            elements=list(record["elements"]),
            shot={
                **shot,
                "plot": caption,
                "size": record["size"],
                "angle": record["angle"],
                "motion": record["motion"],
            },
        )


class StructuringModels:
    """The run's LLM, loaded once and shared by every video."""

    def __init__(self, config: StructuringConfig):
        self.config = config
        self._llm: LlmStructurer | None = None

    def structurer(self, video: Path, truth: ToyGroundTruth | None, keyframes: KeyframeSet) -> Structurer:
        if self.config.llm:
            if self._llm is None:
                self._llm = LlmStructurer(self.config.llm, self.config)
            return self._llm
        if truth is not None:
            return GroundTruthStructurer(truth, keyframes)
        raise VideoError(
            f"No language model is configured, so the captions of {video.name} cannot be structured into a "
            "script. Pass --llm with the local folder of a transformers text-generation model (only "
            "toy-cinema videos, which carry their ground truth, can be structured without one)."
        )


def shot_people(people: PeopleSet, casting: Casting, keyframe: int) -> list[int]:
    """Character indices in keyframe `keyframe`, left to right, each once, at most 5."""
    found: list[tuple[float, int]] = []
    for person in people.keyframes[keyframe]:
        face = person["face_index"]
        if face is None or casting.labels[face] < 0:
            continue
        found.append((person["face"][0], casting.labels[face]))
    ordered = list(dict.fromkeys(c for _, c in sorted(found)))
    return ordered[:MAX_CHARACTERS_PER_SHOT]


def structure_script(
    *,
    title: str,
    style: str,
    keyframes: KeyframeSet,
    people: PeopleSet,
    casting: Casting,
    captions: dict[str, Any],
    structurer: Structurer,
) -> Script:
    """Ask `structurer` for every keyframe's shot, form scenes and validate the whole script."""
    characters: list[CharacterCaption] = captions["characters"]
    names = [c.name for c in characters]
    drafts: list[ShotDraft] = []
    for i, keyframe in enumerate(keyframes.keyframes):
        present = shot_people(people, casting, i)
        end = (
            keyframes.keyframes[i + 1].time
            if i + 1 < len(keyframes.keyframes)
            else keyframes.num_frames / keyframes.fps
        )
        duration = min(max(round(end - keyframe.time, 2), 0.1), MAX_SHOT_SECONDS)
        # Two characters with one name are one person (two clusters of one face): listed once.
        first = list({names[c]: c for c in reversed(present)}.values())[::-1]
        shot = {"characters": [names[c] for c in first], "duration": duration}
        drafts.append(structurer.draft(i, captions["keyframes"][i], [characters[c] for c in first], shot))

    scenes: list[dict[str, Any]] = []
    previous_key = object()
    for draft in drafts:
        if draft.scene_key != previous_key or not scenes:
            scenes.append(
                {"heading": draft.heading, "time_of_day": draft.time_of_day, "elements": [], "shots": []}
            )
            previous_key = draft.scene_key
        scene = scenes[-1]
        for element in draft.elements:
            if element not in scene["elements"] and len(scene["elements"]) < MAX_SCENE_ELEMENTS:
                scene["elements"].append(element)
        scene["shots"].append(draft.shot)
    cast: dict[str, dict[str, Any]] = {}
    for caption, character in zip(characters, casting.characters, strict=True):
        member = cast.setdefault(caption.name, {"name": caption.name, "description": [], "photos": []})
        if not member["description"]:
            member["description"] = sentences(caption.caption)
        member["photos"].extend(f"people/{people.faces[face]['crop']}" for face in character.bank)
    data = {"title": title, "style": style, "cast": list(cast.values()), "scenes": scenes}
    try:
        return script_from_dict(data)
    except ScriptError as error:
        raise VideoError(
            f"The structured script of {title!r} is not valid: {error} Check the captions stage's output "
            "(captions.json) and the structurer's answers."
        ) from None


def write_script(folder: Path, script: Script) -> None:
    (folder / SCRIPT_FILE).write_text(script_to_json(script), encoding="utf-8")
