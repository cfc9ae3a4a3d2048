import numpy as np

from core.script import DialogueLine
from core.video.captions import caption_overlay, placeholder_card, title_card


def test_caption_covers_only_a_bottom_band():
    overlay = caption_overlay(DialogueLine(character="Mara", text="We leave tonight."), (224, 128))
    h = overlay.rgb.shape[0]
    assert overlay.rgb.shape == (h, 224, 3) and overlay.alpha.shape == (h, 224, 1)
    assert 0 < h < 64
    frame = np.full((128, 224, 3), 100, np.uint8)
    out = overlay.apply(frame)
    assert np.array_equal(out[: 128 - h], frame[: 128 - h])
    assert not np.array_equal(out[128 - h :], frame[128 - h :])
    assert out[128 - h :].max() >= 230  # near-white glyphs were drawn over the dark band


def test_long_lines_are_cut_to_the_maximum_lines():
    words = " ".join(["word"] * 200)
    short = caption_overlay(DialogueLine(character="A", text="Hi."), (224, 128))
    long = caption_overlay(DialogueLine(character="A", text=words), (224, 128))
    assert long.rgb.shape[0] <= 3 * short.rgb.shape[0] + 4


def test_cards_have_text_on_them():
    card = title_card("The Long Harbour", "A test film.", (224, 128))
    assert card.shape == (128, 224, 3) and card.dtype == np.uint8
    assert card[40:90].max() > 200 and card[:5].max() == 0
    placeholder = placeholder_card("Scene 1, shot 2", "Mara waits.", (224, 128))
    assert len(np.unique(placeholder.reshape(-1, 3), axis=0)) > 2
