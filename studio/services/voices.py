"""Scratch voices of a project's cast, and its music/ambience bed.

Each character's eSpeak NG voice (language, variant, pitch, speed) lives in the project's
settings under the character's case-folded name; a character without one speaks with
`core.interchange.voice.default_voice`, which is stable per name. The music bed is an
uploaded audio file in the project's media, named in its settings; the animatic mixes it under
the voices.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from core.interchange.voice import EspeakVoice, VoiceSettings, default_voice
from studio.db import Character, Project
from studio.db import cast as cast_db
from studio.db import project as project_db
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.media_files import media_transaction, music_path_is_own, release_media

# Music beds: any format ffmpeg decodes; refused above this size (a 30-minute MP3 is ~40 MB).
MAX_MUSIC_BYTES = 50 * 1024 * 1024
MUSIC_SUFFIXES = (".mp3", ".wav", ".ogg", ".m4a", ".flac", ".aac")


def project_voices(*, session: Session, project: Project) -> dict[str, VoiceSettings]:
    """Every cast member's voice (the stored one, else the default for the name)."""
    stored = project.project_settings().voices
    return {
        character.name: _stored_voice(stored, character.name)
        for character in cast_db.list_characters(session=session, project_id=project.id)
    }


def character_voice(*, session: Session, owner: str, character_id: int) -> VoiceSettings:
    character, project = _require_character(session, owner, character_id)
    return _stored_voice(project.project_settings().voices, character.name)


def _stored_voice(stored: dict[str, dict], name: str) -> VoiceSettings:
    """The stored voice of `name`, or its default when none is stored or the stored one is not
    a voice (settings can come back from a backup written elsewhere)."""
    data = stored.get(name.casefold())
    if data:
        try:
            return VoiceSettings(**data)
        except (TypeError, ValueError):
            pass
    return default_voice(name)


def set_character_voice(
    *, session: Session, owner: str, character_id: int, voice: str, variant: str, pitch: int, speed: int
) -> VoiceSettings:
    """Store a character's voice after checking eSpeak NG can speak with it."""
    character, project = _require_character(session, owner, character_id)
    try:
        settings = VoiceSettings(voice=voice, variant=variant, pitch=int(pitch), speed=int(speed))
        EspeakVoice().speak("Test.", settings)
    except ValueError as error:
        raise StudioError(str(error)) from None
    current = project.project_settings()
    voices = {
        **current.voices,
        character.name.casefold(): {
            "voice": settings.voice,
            "variant": settings.variant,
            "pitch": settings.pitch,
            "speed": settings.speed,
        },
    }
    project_db.set_project_settings(
        session=session, project=project, settings=current.model_copy(update={"voices": voices})
    )
    session.commit()
    return settings


def preview_voice(*, session: Session, owner: str, character_id: int, text: str = "") -> tuple[int, object]:
    """(sample rate, int16 samples) of the character saying `text` (or their name), for a gr.Audio."""
    import numpy as np

    character, _ = _require_character(session, owner, character_id)
    settings = character_voice(session=session, owner=owner, character_id=character_id)
    samples, rate = EspeakVoice().speak(text.strip() or f"Hello, my name is {character.name}.", settings)
    return rate, (np.clip(samples, -1, 1) * 32767).astype(np.int16)


def set_scratch_voice(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    enabled: bool,
    music: str | Path | None = None,
    clear_music: bool = False,
) -> str | None:
    """Turn the animatic's scratch voice track on or off and set (or clear) its music bed;
    returns the bed's media path (kept in the project's settings)."""
    project = require_project(session, project_id, owner)
    current = project.project_settings()
    music_path = None if clear_music else current.music_path
    if music is not None:
        source = Path(music)
        if source.suffix.lower() not in MUSIC_SUFFIXES:
            raise StudioError(
                f"The music file must be one of {', '.join(MUSIC_SUFFIXES)}; {source.name!r} is not."
            )
        if source.stat().st_size > MAX_MUSIC_BYTES:
            raise StudioError(
                f"The music file is larger than {MAX_MUSIC_BYTES // 2**20} MB; shorten or compress it."
            )
        from core.interchange.scratch_track import load_music

        try:
            load_music(source, 22050, max_seconds=1.0)
        except ValueError as error:
            raise StudioError(str(error)) from None
        stored = media.write_file(media.kind_dir(project.id, "renders"), source, source.suffix.lower())
        music_path = stored.path
    old = current.music_path
    with media_transaction(session, media) as written:
        if music_path and music_path != old:
            written.append(music_path)
        project_db.set_project_settings(
            session=session,
            project=project,
            settings=current.model_copy(update={"scratch_voice": bool(enabled), "music_path": music_path}),
        )
    if old and old != music_path:
        release_media(session, media, [old])
    return music_path


def scratch_voice_state(*, session: Session, owner: str, project_id: int) -> tuple[bool, str]:
    """(whether the animatic reads the dialogue aloud, the music file's name or "")."""
    settings = require_project(session, project_id, owner).project_settings()
    return settings.scratch_voice, Path(settings.music_path).name if settings.music_path else ""


def project_music(*, session: Session, media: MediaStore, project: Project) -> Path | None:
    """The music bed's file, or None (none chosen, or its file is gone).

    Only a file of this project's own media counts: settings come back from backups, and a
    path into another project (or a crafted one) must never be mixed into this animatic.
    """
    path = project.project_settings().music_path
    if not path or not music_path_is_own(path, project.id):
        return None
    file = media.resolve(path)
    return file if file.is_file() else None


def _require_character(session: Session, owner: str, character_id: int) -> tuple[Character, Project]:
    character = session.get(Character, character_id)
    if character is None:
        raise StudioError("This character no longer exists; reload the project.")
    project = require_project(session, character.project_id, owner)
    return character, project
