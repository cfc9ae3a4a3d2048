"""A small storyboard with keyframes on disk, shared by the timing and export tests."""

import numpy as np
import pytest
from PIL import Image

from core.script import Character, DialogueLine, Scene, Script, Shot

SIZE = (64, 36)  # (W, H): small and even so encoding takes milliseconds


@pytest.fixture
def storyboard():
    return Script(
        title="Harbour",
        cast=[Character(name="Mara"), Character(name="Tomas")],
        scenes=[
            Scene(
                heading="EXT. HARBOUR - DUSK",
                shots=[
                    Shot(plot="Gulls wheel above the boats.", duration=2.0),
                    Shot(
                        plot="Mara steps off the bus.",
                        characters=["Mara"],
                        duration=3.5,
                        dialogue=[
                            DialogueLine(character="Mara", text="Ten years.", parenthetical="V.O."),
                            DialogueLine(character="Mara", text="It still smells of diesel."),
                        ],
                    ),
                ],
            ),
            Scene(
                heading="INT. LIGHTHOUSE - NIGHT",
                shots=[
                    Shot(
                        plot="Tomas mends a net.",
                        characters=["Tomas"],
                        duration=2.25,
                        dialogue=[
                            DialogueLine(
                                character="Tomas",
                                text="You're late, girl.",
                                parenthetical="without looking up",
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


@pytest.fixture
def keyframes(tmp_path, storyboard):
    paths = {}
    for i in range(storyboard.num_shots):
        rng = np.random.default_rng(i)
        image = rng.integers(0, 255, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
        paths[i] = tmp_path / f"shot_{i + 1:03d}.png"
        Image.fromarray(image).save(paths[i])
    return paths
