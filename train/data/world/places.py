"""The twelve places of the toy world and the sentences a script uses to describe them.

Each place has its own scenery (drawn by `train.data.world.scenery`), a phrase for plot
sentences ("on the beach"), a screenplay heading, scene-element sentences, and the colour
of whatever characters sit on there. Time-of-day and weather sentences are added per scene.
"""

from __future__ import annotations

from dataclasses import dataclass

from train.data.world.colour import RGB


@dataclass(frozen=True)
class Place:
    key: str
    phrase: str  # completes "Mara waits ..." -> "Mara waits on the beach"
    noun: str  # "Mara leaves the beach"
    heading: str  # screenplay scene heading without the time ("EXT. BEACH")
    indoor: bool
    elements: tuple[str, ...]
    seat: RGB  # colour of the bench/chair/rock a sitting character uses
    seat_name: str


PLACES: dict[str, Place] = {
    place.key: place
    for place in (
        Place(
            "beach",
            "on the beach",
            "the beach",
            "EXT. BEACH",
            False,
            (
                "Waves roll onto pale sand.",
                "Palm trees lean over the beach.",
                "A red and white umbrella shades the sand.",
            ),
            (150, 110, 70),
            "a driftwood log",
        ),
        Place(
            "forest",
            "in the forest",
            "the forest",
            "EXT. FOREST",
            False,
            ("Tall pine trees crowd around a dirt path.", "Ferns and moss cover the forest floor."),
            (110, 80, 50),
            "a fallen log",
        ),
        Place(
            "street",
            "on the street",
            "the street",
            "EXT. CITY STREET",
            False,
            (
                "Brick buildings line the street.",
                "Street lamps stand along the pavement.",
                "A blue car is parked by the kerb.",
            ),
            (90, 96, 104),
            "a bench",
        ),
        Place(
            "office",
            "in the office",
            "the office",
            "INT. OFFICE",
            True,
            (
                "Desks with computer screens fill the office.",
                "A whiteboard hangs on the wall.",
                "A potted plant stands by the window.",
            ),
            (60, 64, 76),
            "an office chair",
        ),
        Place(
            "kitchen",
            "in the kitchen",
            "the kitchen",
            "INT. KITCHEN",
            True,
            (
                "White tiles cover the kitchen wall.",
                "A pot sits on the stove.",
                "A tall fridge stands in the corner.",
            ),
            (170, 120, 70),
            "a stool",
        ),
        Place(
            "harbour",
            "at the harbour",
            "the harbour",
            "EXT. HARBOUR",
            False,
            (
                "Fishing boats bob beside the wooden pier.",
                "Stacked crates wait on the dock.",
                "A yellow crane rises over the harbour.",
            ),
            (140, 100, 60),
            "a crate",
        ),
        Place(
            "lighthouse",
            "by the lighthouse",
            "the lighthouse",
            "EXT. LIGHTHOUSE",
            False,
            ("A red and white lighthouse stands on the cliff.", "Waves crash against the rocks below."),
            (128, 128, 132),
            "a rock",
        ),
        Place(
            "snow-mountain",
            "on the snowy mountain",
            "the mountain",
            "EXT. SNOWY MOUNTAIN",
            False,
            ("Snowy peaks rise behind the slope.", "Pine trees wear caps of snow."),
            (110, 80, 56),
            "a log",
        ),
        Place(
            "ship-deck",
            "on the ship deck",
            "the deck",
            "EXT. SHIP DECK",
            False,
            (
                "A white railing runs along the deck.",
                "A red and white lifebuoy hangs on the rail.",
                "The open sea stretches to the horizon.",
            ),
            (120, 80, 50),
            "a barrel",
        ),
        Place(
            "desert",
            "in the desert",
            "the desert",
            "EXT. DESERT",
            False,
            (
                "Sand dunes roll to the horizon.",
                "Tall cacti stand in the sand.",
                "Red rock mesas rise in the distance.",
            ),
            (170, 110, 70),
            "a rock",
        ),
        Place(
            "park",
            "in the park",
            "the park",
            "EXT. PARK",
            False,
            (
                "Round green trees shade the lawn.",
                "A wooden bench stands beside the path.",
                "Flowers bloom along the path.",
            ),
            (140, 96, 56),
            "a park bench",
        ),
        Place(
            "living-room",
            "in the living room",
            "the living room",
            "INT. LIVING ROOM",
            True,
            (
                "A green sofa stands against the wall.",
                "Red curtains frame the window.",
                "A floor lamp stands beside a bookshelf.",
            ),
            (120, 70, 50),
            "a chair",
        ),
    )
}

_TIME_SENTENCES = {
    False: {
        "dawn": "Pale pink dawn light fills the sky.",
        "day": "The sky is bright with daylight.",
        "sunset": "The sky glows orange at sunset.",
        "night": "It is night and the sky is dark.",
    },
    True: {
        "dawn": "Pale dawn light comes through the window.",
        "day": "Daylight comes through the window.",
        "sunset": "Orange evening light comes through the window.",
        "night": "Warm lamps light the room at night.",
    },
}
_WEATHER_SENTENCES = {
    False: {
        "rain": "Rain pours down from grey clouds.",
        "fog": "Thick fog hides the distance.",
        "snow": "Snow is falling.",
    },
    True: {
        "rain": "Rain runs down the window.",
        "fog": "Fog presses against the window.",
        "snow": "Snow falls outside the window.",
    },
}
TIME_PHRASES = {"dawn": "at dawn", "day": "during the day", "sunset": "at sunset", "night": "at night"}
WEATHER_PHRASES = {"clear": "", "rain": "in the rain", "fog": "in the fog", "snow": "in the snow"}


def get_place(key: str) -> Place:
    """The place called `key`, with a clear error for an unknown one."""
    try:
        return PLACES[key]
    except KeyError:
        raise ValueError(f"unknown place {key!r}; use one of {', '.join(PLACES)}") from None


def scene_elements(place: Place, time_of_day: str, weather: str) -> list[str]:
    """Scene-element sentences: the place's own, then its light and weather (at most 5)."""
    sentences = list(place.elements)
    sentences.append(_TIME_SENTENCES[place.indoor][time_of_day])
    if weather != "clear":
        sentences.append(_WEATHER_SENTENCES[place.indoor][weather])
    return sentences
