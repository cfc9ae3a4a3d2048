"""Movies: a cast, scenes of 4-20 shots, blocking with entrances and exits, plot and dialogue.

`generate_movie(seed, identities)` writes a whole toy movie as data: a `core.script.Script`
(what a user would type), one `FrameSpec` per keyframe (what the renderer draws) and one
ground-truth record per keyframe (who is where, doing what). Nothing is rendered here; the
ground-truth boxes come from the blocking arithmetic the renderer uses.

The story engine keeps state per scene: who is on stage, where each one stands (a "mark",
left-to-right order is kept so cuts respect screen direction), who sits. Each shot is one
event: an entrance, an exit, an action by one character, a line of dialogue, a reaction
close-up or an establishing view. Places recur within a movie, so identities and places
must stay consistent over hundreds of keyframes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core.script import MAX_CHARACTERS_PER_SHOT, Character, DialogueLine, Scene, Script, Shot
from train.data.world.blocking import frame_layout
from train.data.world.cast import Identity
from train.data.world.places import PLACES, TIME_PHRASES, WEATHER_PHRASES, Place, scene_elements
from train.data.world.render import character_boxes
from train.data.world.spec import CharacterSpec, FrameSpec
from train.data.world.styles import STYLES

MIN_SCENE_SHOTS, MAX_SCENE_SHOTS = 4, 20
PHOTOS_PER_CHARACTER = 3
# Share of movies whose script names its grade; in the rest only reference frames or earlier
# keyframes can carry the style (as in real scripts, which rarely name a colour grade).
STYLE_NAMED_SHARE = 0.6
PLACE_VARIANTS = 3  # per-movie looks of a place (layout, surface colours), see scenery.py

_TIME_WEIGHTS = {"dawn": 1, "day": 5, "sunset": 2, "night": 3}
_WEATHER_WEIGHTS = {
    "default": (12, 3, 2, 2),
    "desert": (18, 1, 1, 0),
    "snow-mountain": (10, 1, 3, 6),
    "beach": (14, 3, 2, 1),
    "indoor": (15, 3, 1, 1),
}
_MOODS = ("happy", "tense", "sad", "calm")
_MOOD_EXPRESSIONS = {
    "happy": (("happy", 6), ("neutral", 3), ("surprised", 1)),
    "tense": (("angry", 3), ("surprised", 3), ("neutral", 3), ("sad", 1)),
    "sad": (("sad", 6), ("neutral", 3), ("angry", 1)),
    "calm": (("neutral", 6), ("happy", 3), ("surprised", 1)),
}
_EXPRESSION_CLAUSE = {
    "happy": "smiling",
    "sad": "looking sad",
    "surprised": "looking surprised",
    "angry": "looking angry",
}
_REACTION = {
    "happy": "{A} smiles",
    "sad": "{A} looks sad",
    "surprised": "{A} looks surprised",
    "angry": "{A} looks angry",
    "neutral": "{A} listens quietly",
}
_LINES = {
    "happy": (
        "What a beautiful day!",
        "I knew you would come.",
        "Let's celebrate tonight.",
        "This is the best news.",
        "You made it!",
    ),
    "tense": (
        "We have to leave now.",
        "Did you hear that?",
        "Something is wrong here.",
        "Stay close to me.",
        "Who else knows about this?",
    ),
    "sad": (
        "I miss the old days.",
        "It's over, isn't it?",
        "I'm sorry.",
        "We lost everything.",
        "I didn't want it to end like this.",
    ),
    "calm": (
        "Look at the view.",
        "Do you want some tea?",
        "Let's wait a little longer.",
        "I like it here.",
        "Tell me about your day.",
    ),
}
_PLACE_LINES = {
    "beach": "The water is warm today.",
    "forest": "I think we are lost.",
    "street": "The shop is just around the corner.",
    "office": "The meeting starts in five minutes.",
    "kitchen": "Dinner is almost ready.",
    "harbour": "The boat leaves at dawn.",
    "lighthouse": "The light keeps the ships safe.",
    "snow-mountain": "It's freezing up here.",
    "ship-deck": "Land is still far away.",
    "desert": "We need to find water.",
    "park": "Let's sit on the bench.",
    "living-room": "Make yourself at home.",
}
_PARENTHETICALS = {"tense": "whispering", "happy": "laughing", "sad": "quietly", "calm": "softly"}
_TITLE_ADJECTIVES = (
    "Silent",
    "Last",
    "Golden",
    "Hidden",
    "Distant",
    "Broken",
    "Secret",
    "Quiet",
    "Lost",
    "Bright",
)
_TITLE_NOUNS = (
    "Harbour",
    "Summer",
    "Letter",
    "Promise",
    "Signal",
    "Voyage",
    "Winter",
    "Garden",
    "Road",
    "Tide",
)
_ANGLES = (("eye-level", 62), ("high", 13), ("low", 13), ("dutch", 6), ("overhead", 6))
_MOTIONS = (
    ("static", 45),
    ("pan-left", 8),
    ("pan-right", 8),
    ("zoom-in", 8),
    ("zoom-out", 5),
    ("dolly-in", 5),
    ("dolly-out", 3),
    ("tilt-up", 3),
    ("tilt-down", 3),
    ("handheld", 5),
)
# A wide backdrop cannot be shown any wider, so these moves need a tighter shot.
_NEEDS_TIGHT_SHOT = ("zoom-out", "dolly-out")


@dataclass
class _Actor:
    identity: Identity
    mark: float  # horizontal position on stage, frame widths
    depth: float
    sitting: bool = False


@dataclass
class _Stage:
    place: Place
    time_of_day: str
    weather: str
    variant: int
    mood: str
    present: list[_Actor] = field(default_factory=list)

    def ordered(self) -> list[_Actor]:
        return sorted(self.present, key=lambda a: a.mark)


@dataclass(frozen=True)
class Movie:
    """A generated movie: the script, one frame spec and one ground-truth record per keyframe."""

    seed: int
    script: Script
    frames: list[FrameSpec]
    ground_truth: list[dict]
    cast: list[Identity]  # in script cast order
    photos: dict[str, list[str]]  # identity id -> photo paths named in the script

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def shot_motion(self, frame: int) -> str:
        """The camera motion of keyframe `frame` (what its clip does)."""
        return self.script.shots()[frame][2].motion.value


def _weighted(rng: random.Random, pairs) -> str:
    items = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(items, weights=weights)[0]


def _scene_lengths(rng: random.Random, total: int) -> list[int]:
    """Split `total` shots into scenes of 4-20 shots (one shorter scene only if total < 4)."""
    lengths: list[int] = []
    remaining = total
    while remaining > 0:
        if remaining <= MAX_SCENE_SHOTS:
            lengths.append(remaining)
            break
        length = rng.randint(MIN_SCENE_SHOTS, min(MAX_SCENE_SHOTS, remaining - MIN_SCENE_SHOTS))
        lengths.append(length)
        remaining -= length
    return lengths


def photo_path_by_identity(identity: Identity, k: int) -> str:
    """Dataset layout: cast/<identity id>_<k>.png."""
    return f"cast/{identity.identity_id}_{k}.png"


def photo_path_by_name(identity: Identity, k: int) -> str:
    """Sample-project layout: cast/<name>_<k>.png (name made file-system safe)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", identity.name).strip("_")
    return f"cast/{slug}_{k}.png"


class _Director:
    """Writes one movie shot by shot; all randomness comes from one seeded Random."""

    def __init__(
        self, seed: int, cast: list[Identity], style: str, rng: random.Random, style_named: bool = True
    ):
        self.seed = seed
        self.cast = cast
        self.style = style
        self.style_named = style_named
        self.rng = rng
        self.frames: list[FrameSpec] = []
        self.truth: list[dict] = []

    # -- stage management ----------------------------------------------------------------

    def free_mark(self, stage: _Stage, near_edge: float | None = None) -> float:
        """A stage position at least ~0.17 frame widths from everyone already there."""
        taken = sorted(a.mark for a in stage.present)
        candidates = [0.12 + 0.76 * k / 20 for k in range(21)]
        if near_edge is not None:
            candidates = [c for c in candidates if abs(c - near_edge) < 0.22] or candidates
        best, best_gap = candidates[0], -1.0
        for c in candidates:
            gap = min((abs(c - t) for t in taken), default=1.0) + self.rng.uniform(0, 0.02)
            if gap > best_gap:
                best, best_gap = c, gap
        return best

    def enter(self, stage: _Stage, identity: Identity, edge: float | None = None) -> _Actor:
        actor = _Actor(identity, self.free_mark(stage, edge), self.rng.uniform(0.0, 0.7))
        stage.present.append(actor)
        return actor

    # -- sentences -----------------------------------------------------------------------

    def where(self, stage: _Stage, force_time: bool = False) -> str:
        """ " on the beach at sunset" style suffix; time and weather are mentioned often, not always."""
        parts = []
        if self.rng.random() < 0.75 or force_time:
            parts.append(stage.place.phrase)
        if force_time or self.rng.random() < 0.45:
            parts.append(TIME_PHRASES[stage.time_of_day])
        if stage.weather != "clear" and self.rng.random() < 0.35:
            parts.append(WEATHER_PHRASES[stage.weather])
        return (" " + " ".join(parts)) if parts else ""

    def expression(self, stage: _Stage) -> str:
        return _weighted(self.rng, _MOOD_EXPRESSIONS[stage.mood])

    # -- framing -------------------------------------------------------------------------

    def frame(
        self,
        stage: _Stage,
        size: str,
        angle: str,
        visible: list[_Actor],
        actions: dict[str, tuple[str, str, float]],
        walking_to: dict[str, float],
    ) -> FrameSpec:
        """Place the visible actors for this shot size, keeping left-to-right order."""
        visible = sorted(visible, key=lambda a: a.mark)
        k = len(visible)
        specs = []
        for i, actor in enumerate(visible):
            if size in ("wide", "extreme-wide"):
                x, depth = actor.mark, actor.depth
            elif size == "full":
                x, depth = (i + 0.5) / k if k > 1 else 0.5 + (actor.mark - 0.5) * 0.4, actor.depth * 0.4
            elif size == "medium":
                x = (i + 0.5) / k if k > 1 else (0.4 if actor.mark < 0.5 else 0.6)
                depth = actor.depth * 0.25
            else:
                x, depth = (0.42 if actor.mark < 0.5 else 0.58), 0.0
            x += self.rng.uniform(-0.02, 0.02)
            action, expression, facing = actions.get(actor.identity.identity_id, ("stand", "neutral", 0.0))
            if actor.sitting and action == "stand":
                action = "sit"
            if action not in ("walk", "point", "talk") or facing == 0.0:
                # Look towards the others in the frame (or across the frame when alone).
                others = [o.mark for o in visible if o is not actor]
                if others:
                    facing = 0.45 if sum(others) / len(others) > actor.mark else -0.45
                elif size in ("close-up", "extreme-close-up", "medium"):
                    facing = 0.25 if x < 0.5 else -0.25
            specs.append(
                CharacterSpec(
                    identity=actor.identity,
                    x=round(x, 4),
                    depth=round(depth, 4),
                    action=action,
                    expression=expression,
                    facing=round(facing, 3),
                    phase=round(self.rng.random(), 3),
                )
            )
        return FrameSpec(
            place=stage.place.key,
            time_of_day=stage.time_of_day,
            weather=stage.weather,
            style=self.style,
            shot_size=size,
            camera_angle=angle,
            characters=tuple(specs),
            variant=stage.variant,
        )

    def camera(self, size: str, tense: bool) -> tuple[str, str]:
        angles = _ANGLES if tense else tuple((a, w if a != "dutch" else 2) for a, w in _ANGLES)
        angle = _weighted(self.rng, angles)
        if angle == "overhead" and size not in ("wide", "extreme-wide"):
            angle = "high"
        motion = _weighted(self.rng, _MOTIONS)
        if motion in _NEEDS_TIGHT_SHOT and size in ("wide", "extreme-wide"):
            motion = "zoom-in"
        return angle, motion

    # -- one shot ------------------------------------------------------------------------

    def shot(
        self, stage: _Stage, scene_cast: list[Identity], scene_index: int, shot_index: int, last: bool
    ) -> Shot:
        rng = self.rng
        present = stage.present
        offstage = [i for i in scene_cast if all(a.identity is not i for a in present)]
        events = []
        if offstage and len(present) < MAX_CHARACTERS_PER_SHOT:
            events.append(("enter", 3 if not present else 1.2))
        if present and (len(present) >= 2 or last) and shot_index > 1:
            events.append(("exit", 0.8 if not last else 2.5))
        if present:
            events += [("action", 5.0), ("reaction", 1.5)]
            if len(present) >= 2:
                events.append(("dialogue", 3.5))
        if shot_index == 0 or not events:
            events.append(("establish", 1.0 if events else 1.5))
        event = _weighted(rng, events)

        actions: dict[str, tuple[str, str, float]] = {}
        for actor in present:
            actions[actor.identity.identity_id] = (
                "stand",
                self.expression(stage) if rng.random() < 0.5 else "neutral",
                0.0,
            )
        dialogue: list[DialogueLine] = []
        walking_to: dict[str, float] = {}
        visible: list[_Actor] = list(present)
        size = _weighted(rng, (("extreme-wide", 1), ("wide", 4), ("full", 3), ("medium", 3)))

        if event == "establish":
            size = _weighted(rng, (("extreme-wide", 2), ("wide", 1)))
            visible = []
            plot = f"{stage.place.noun.capitalize()} lies empty {TIME_PHRASES[stage.time_of_day]}."
        elif event == "enter":
            identity = rng.choice(offstage)
            edge = rng.choice((0.12, 0.88))
            actor = self.enter(stage, identity, edge)
            actor.sitting = False
            facing = 0.8 if actor.mark < 0.5 else -0.8
            actions[identity.identity_id] = ("walk", self.expression(stage), facing)
            size = _weighted(rng, (("wide", 5), ("full", 2), ("extreme-wide", 1)))
            visible = list(stage.present)
            verb = rng.choice(("arrives", "steps into view", "appears"))
            plot = f"{identity.name} {verb}{self.where(stage)}."
        elif event == "exit":
            actor = rng.choice(present)
            identity = actor.identity
            facing = -0.8 if actor.mark < 0.5 else 0.8
            actions[identity.identity_id] = ("walk", self.expression(stage), facing)
            size = _weighted(rng, (("wide", 5), ("full", 2)))
            visible = list(present)
            plot = f"{identity.name} {rng.choice(('leaves', 'walks away from'))} {stage.place.noun}."
            stage.present = [a for a in present if a is not actor]
        elif event == "reaction":
            actor = rng.choice(present)
            expression = self.expression(stage)
            action = "sit" if actor.sitting else "stand"
            actions[actor.identity.identity_id] = (action, expression, 0.0)
            size = _weighted(rng, (("close-up", 4), ("extreme-close-up", 1), ("medium", 1)))
            visible = [actor]
            plot = _REACTION[expression].format(A=actor.identity.name) + f"{self.where(stage)}."
        elif event == "dialogue":
            speaker, listener = rng.sample(present, 2)
            facing = 0.6 if listener.mark > speaker.mark else -0.6
            expression = self.expression(stage)
            actions[speaker.identity.identity_id] = ("talk", expression, facing)
            speaker.sitting = False
            actions[listener.identity.identity_id] = (
                "sit" if listener.sitting else "stand",
                self.expression(stage),
                -facing,
            )
            size = _weighted(rng, (("medium", 5), ("close-up", 3), ("full", 2)))
            visible = [speaker] if size == "close-up" else [speaker, listener]
            line = rng.choice(_LINES[stage.mood]) if rng.random() < 0.8 else _PLACE_LINES[stage.place.key]
            parenthetical = _PARENTHETICALS[stage.mood] if rng.random() < 0.2 else ""
            dialogue.append(
                DialogueLine(character=speaker.identity.name, text=line, parenthetical=parenthetical)
            )
            if rng.random() < 0.4:
                reply = rng.choice(_LINES[stage.mood])
                if reply != line:
                    dialogue.append(DialogueLine(character=listener.identity.name, text=reply))
            verb = rng.choice(("talks to", "speaks with", "tells something to"))
            plot = f"{speaker.identity.name} {verb} {listener.identity.name}{self.where(stage)}."
        else:
            actor = rng.choice(present)
            identity = actor.identity
            choices = [("stand", 2), ("walk", 3), ("raise-arms", 3), ("talk", 1), ("point", 2)]
            choices.append(("sit", 3) if not actor.sitting else ("stand-up", 3))
            action = _weighted(rng, choices)
            expression = self.expression(stage)
            name, pos = identity.name, identity.possessive
            facing = 0.0
            if action == "sit":
                actor.sitting = True
                size = _weighted(rng, (("full", 3), ("wide", 2), ("medium", 1)))
                plot = f"{name} sits down on {stage.place.seat_name}{self.where(stage)}"
            elif action == "stand-up":
                actor.sitting = False
                action = "stand"
                size = _weighted(rng, (("full", 3), ("wide", 2)))
                plot = f"{name} stands up{self.where(stage)}"
            elif action == "walk":
                actor.sitting = False
                target = self.free_mark(stage)
                facing = 0.8 if target >= actor.mark else -0.8
                walking_to[identity.identity_id] = target
                size = _weighted(rng, (("wide", 4), ("full", 3), ("extreme-wide", 1)))
                plot = f"{name} {rng.choice(('walks', 'strolls', 'hurries'))} across {stage.place.noun}"
                if rng.random() < 0.5:
                    plot += f" {TIME_PHRASES[stage.time_of_day]}"
            elif action == "raise-arms":
                actor.sitting = False
                size = _weighted(rng, (("full", 3), ("wide", 2), ("medium", 2)))
                plot = f"{name} {rng.choice(('raises', 'throws up'))} {pos} arms{self.where(stage)}"
            elif action == "point":
                others = [a for a in present if a is not actor]
                if others:
                    target = rng.choice(others)
                    facing = 0.7 if target.mark > actor.mark else -0.7
                    size = _weighted(rng, (("medium", 3), ("full", 3), ("wide", 2)))
                    visible = [actor, target] if size != "wide" else list(present)
                    plot = f"{name} points at {target.identity.name}{self.where(stage)}"
                else:
                    facing = rng.choice((-0.7, 0.7))
                    size = _weighted(rng, (("medium", 2), ("full", 2), ("wide", 1)))
                    plot = f"{name} points into the distance{self.where(stage)}"
            elif action == "talk":
                facing = rng.choice((-0.3, 0.3))
                size = _weighted(rng, (("medium", 3), ("close-up", 2)))
                visible = [actor]
                plot = f"{name} {rng.choice(('speaks', 'thinks aloud', 'talks'))}{self.where(stage)}"
                dialogue.append(DialogueLine(character=name, text=rng.choice(_LINES[stage.mood])))
            else:
                size = _weighted(rng, (("wide", 2), ("full", 2), ("medium", 2), ("close-up", 1)))
                verbs = ("waits", "looks around") if actor.sitting else ("stands", "waits", "looks around")
                plot = f"{name} {rng.choice(verbs)}{self.where(stage)}"
            if action in ("sit", "stand") and actor.sitting:
                action = "sit"
            elif action not in ("sit", "stand"):
                # Walking, pointing, talking and cheering are all done standing up.
                actor.sitting = False
            actions[identity.identity_id] = (action, expression, facing)
            if expression != "neutral" and rng.random() < 0.4:
                plot += f", {_EXPRESSION_CLAUSE[expression]}"
            plot += "."
            if size in ("medium", "close-up", "extreme-close-up") and action not in ("point",):
                # Tight shots show the acting character and at most its neighbours.
                neighbours = sorted(
                    (a for a in present if a is not actor), key=lambda a: abs(a.mark - actor.mark)
                )
                keep = 0 if size != "medium" else rng.randint(0, min(1, len(neighbours)))
                visible = [actor, *neighbours[:keep]]

        if size in ("medium", "close-up", "extreme-close-up") and len(visible) > (
            3 if size == "medium" else 1
        ):
            visible = visible[: 3 if size == "medium" else 1]
        angle, motion = self.camera(size, stage.mood == "tense")
        spec = self.frame(stage, size, angle, visible, actions, walking_to)
        if any(c.action == "walk" for c in spec.characters) and rng.random() < 0.4:
            motion = "tracking"  # the camera follows the walker
        for actor in present:
            if actor.identity.identity_id in walking_to:
                actor.mark = walking_to[actor.identity.identity_id]
        self.record(spec, scene_index, shot_index, plot)
        names = [c.identity.name for c in spec.characters]
        duration = round(rng.uniform(1.5, 5.0 if not dialogue else 6.0) * 2) / 2
        return Shot(
            plot=plot,
            characters=names,
            size=size,
            angle=angle,
            motion=motion,
            duration=duration,
            dialogue=dialogue,
        )

    def record(self, spec: FrameSpec, scene_index: int, shot_index: int, plot: str) -> None:
        layout = frame_layout(spec)
        hidden = [p.spec.identity.name for p in layout.placements if not p.visible]
        if hidden:
            raise RuntimeError(
                f"blocking put {hidden} outside the frame of {spec}; this is a bug in the world"
            )
        self.frames.append(spec)
        self.truth.append(
            {
                "frame": len(self.truth),
                "scene": scene_index,
                "shot": shot_index,
                "place": spec.place,
                "time_of_day": spec.time_of_day,
                "weather": spec.weather,
                "style": spec.style,
                "style_named": self.style_named,
                "variant": spec.variant,
                "shot_size": spec.shot_size,
                "camera_angle": spec.camera_angle,
                "plot": plot,
                "characters": [b.to_json() for b in character_boxes(layout)],
            }
        )


def movie_length(seed: int, min_shots: int = 40, max_shots: int = 400) -> int:
    """The number of keyframes `generate_movie(seed, ...)` draws, without generating the movie."""
    return random.Random(seed).randint(min_shots, max_shots)


def generate_movie(
    seed: int,
    identities: list[Identity],
    num_shots: int | None = None,
    *,
    min_shots: int = 40,
    max_shots: int = 400,
    min_cast: int = 2,
    max_cast: int = 6,
    style: str | None = None,
    style_named: bool | None = None,
    title: str | None = None,
    photo_path: Callable[[Identity, int], str] = photo_path_by_identity,
    photos_per_character: int = PHOTOS_PER_CHARACTER,
) -> Movie:
    """Write a movie from `seed` with a cast drawn from `identities`.

    `num_shots` fixes the number of keyframes; otherwise it is drawn from
    [min_shots, max_shots]. The cast has min_cast..max_cast members (fewer if fewer
    identities are given), and only identities from `identities` ever appear, which is
    how the export keeps held-out identities out of training movies. `style` fixes the
    grade (a key of `STYLES`) and `title` the title; otherwise they are drawn.
    `style_named` says whether the script names the grade (drawn: true for
    `STYLE_NAMED_SHARE` of movies); a script that does not leaves it to references.

    Each place the movie visits has one variant (layout and surface colours) for the
    whole movie, which the script never describes: only earlier keyframes carry it.
    """
    if not identities:
        raise ValueError("a movie needs at least one identity to cast; the identity list is empty")
    if num_shots is None:
        if not 1 <= min_shots <= max_shots:
            raise ValueError(
                f"the shot range {min_shots}-{max_shots} is empty; use 1 <= min_shots <= max_shots"
            )
    elif num_shots < 1:
        raise ValueError(f"a movie needs at least one shot, not {num_shots}")
    rng = random.Random(seed)
    drawn = rng.randint(min_shots, max_shots) if num_shots is None else None
    total = num_shots if num_shots is not None else drawn
    if not 1 <= min_cast <= max_cast:
        raise ValueError(f"the cast size range {min_cast}-{max_cast} is empty; use 1 <= min_cast <= max_cast")
    if style is not None and style not in STYLES:
        raise ValueError(f"unknown style {style!r}; use one of {', '.join(STYLES)}")
    cast_size = min(len(identities), rng.randint(min_cast, max_cast))
    cast = rng.sample(list(identities), cast_size)
    drawn_style = rng.choice(list(STYLES))
    style = style or drawn_style
    # Their own string-seeded streams, so these per-movie draws leave the story's draws alone.
    drawn_named = random.Random(f"{seed}/style-named").random() < STYLE_NAMED_SHARE
    style_named = drawn_named if style_named is None else style_named
    director = _Director(seed, cast, style, rng, style_named)

    # A movie keeps returning to a handful of locations, each in one look for the whole movie.
    locations = rng.sample(list(PLACES.values()), rng.randint(3, 6))
    variant_rng = random.Random(f"{seed}/place-variants")
    variants = {place.key: variant_rng.randrange(PLACE_VARIANTS) for place in locations}
    scenes: list[Scene] = []
    visited: list[Place] = []
    previous: Place | None = None
    for scene_index, length in enumerate(_scene_lengths(rng, total)):
        place = rng.choice([p for p in locations if p is not previous] or locations)
        previous = place
        if place not in visited:
            visited.append(place)
        time_of_day = _weighted(rng, tuple(_TIME_WEIGHTS.items()))
        weights = _WEATHER_WEIGHTS[
            "indoor" if place.indoor else place.key if place.key in _WEATHER_WEIGHTS else "default"
        ]
        weather = rng.choices(("clear", "rain", "fog", "snow"), weights=weights)[0]
        rng.randint(0, 2)  # the old per-scene variant draw, kept so the story's draws stay put
        stage = _Stage(place, time_of_day, weather, variants[place.key], rng.choice(_MOODS))
        # The protagonist (first cast member) is in most scenes.
        others = cast[1:]
        scene_cast = rng.sample(others, min(len(others), rng.randint(1, 3)))
        if rng.random() < 0.75 or not scene_cast:
            scene_cast = [cast[0], *scene_cast]
        scene_cast = scene_cast[:MAX_CHARACTERS_PER_SHOT]
        opening = rng.randint(0, len(scene_cast)) if rng.random() < 0.3 else rng.randint(1, len(scene_cast))
        for identity in scene_cast[:opening]:
            director.enter(stage, identity)
        shots = [
            director.shot(stage, scene_cast, scene_index, k, last=(k == length - 1)) for k in range(length)
        ]
        scenes.append(
            Scene(
                heading=f"{place.heading} - {time_of_day.upper()}",
                time_of_day=time_of_day,
                elements=scene_elements(place, time_of_day, weather),
                shots=shots,
            )
        )

    photos = {i.identity_id: [photo_path(i, k) for k in range(photos_per_character)] for i in cast}
    characters = [
        Character(name=i.name, description=i.description, photos=photos[i.identity_id]) for i in cast
    ]
    names = [i.name for i in cast]
    drawn_title = f"The {rng.choice(_TITLE_ADJECTIVES)} {rng.choice(_TITLE_NOUNS)}"
    title = title or drawn_title
    # The logline names only places the script visits (a short movie may stay in one).
    where = " and ".join(p.phrase for p in visited[:2])
    if len(names) >= 2:
        logline = f"{names[0]} and {names[1]} cross paths {where}."
    else:
        logline = f"{names[0]} wanders {where}."
    script = Script(
        title=title,
        logline=logline,
        style=STYLES[style].description if style_named else "",
        cast=characters,
        scenes=scenes,
    )
    return Movie(
        seed=seed,
        script=script,
        frames=director.frames,
        ground_truth=director.truth,
        cast=cast,
        photos=photos,
    )
