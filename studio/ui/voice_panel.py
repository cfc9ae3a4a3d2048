"""The scratch voice of the chosen character (Cast tab): language, variant, pitch and speed of
its eSpeak NG voice, and a button to hear it. Issue 26, item 4."""

from __future__ import annotations

import gradio as gr

from core.interchange.voice import LANGUAGES, MAX_PITCH, MAX_SPEED, MIN_PITCH, MIN_SPEED, variants
from studio.errors import StudioError
from studio.services import voices as voice_services
from studio.ui.choices import NEW
from studio.ui.feedback import guarded, inform
from studio.ui.shell import Shell


def build(shell: Shell, character: gr.Dropdown) -> None:
    """An accordion under the cast form; `character` is the tab's character dropdown."""
    with gr.Accordion("Scratch voice (read aloud in the animatic)", open=False):
        with gr.Row():
            language = gr.Dropdown(
                label="Language", choices=list(LANGUAGES), value="en", elem_id="voice-language"
            )
            variant = gr.Dropdown(label="Voice", choices=variants(), value="m1", elem_id="voice-variant")
        with gr.Row():
            pitch = gr.Slider(
                MIN_PITCH, MAX_PITCH, value=50, step=1, label="Pitch (50 is normal)", elem_id="voice-pitch"
            )
            speed = gr.Slider(
                MIN_SPEED,
                MAX_SPEED,
                value=165,
                step=5,
                label="Speed (words per minute)",
                elem_id="voice-speed",
            )
        with gr.Row():
            save = gr.Button("Save voice", elem_id="save-voice")
            hear = gr.Button("Hear it", elem_id="hear-voice")
        sample = gr.Audio(label="Voice sample", interactive=False, type="numpy", elem_id="voice-sample")

    fields = [language, variant, pitch, speed]

    @guarded
    def load(character_id, request: gr.Request):
        if character_id in (None, NEW):
            return [gr.update()] * len(fields)
        settings = shell.studio().call(
            voice_services.character_voice, owner=shell.owner(request), character_id=character_id
        )
        return [settings.voice, settings.variant, settings.pitch, settings.speed]

    def chosen(character_id) -> int:
        if character_id in (None, NEW):
            raise StudioError("Add the character first, then choose their voice.")
        return character_id

    @guarded
    def save_voice(
        character_id, language_value, variant_value, pitch_value, speed_value, request: gr.Request
    ):
        settings = shell.studio().call(
            voice_services.set_character_voice,
            owner=shell.owner(request),
            character_id=chosen(character_id),
            voice=language_value,
            variant=variant_value,
            pitch=pitch_value,
            speed=speed_value,
        )
        inform(
            f"Saved the voice {settings.name} (pitch {settings.pitch}, {settings.speed} words per minute)."
        )

    @guarded
    def hear_voice(character_id, request: gr.Request):
        return shell.studio().call(
            voice_services.preview_voice, owner=shell.owner(request), character_id=chosen(character_id)
        )

    character.change(load, [character], fields)
    save.click(save_voice, [character, *fields], [])
    hear.click(save_voice, [character, *fields], []).then(hear_voice, [character], [sample])
