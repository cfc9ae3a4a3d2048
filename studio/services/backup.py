"""A whole project in its export ZIP, and the project restored from it.

The ZIP keeps the sample-folder layout (script.json, cast/, frames/: it still opens as a
sample project) and adds what a sample does not carry, so nothing a user made is lost:

    backup.json                     manifest (format "moviedreamer-studio-backup", version 1):
                                    project name, logline, style, generation settings; per cast
                                    photo its face crop, embedding and detector; reference
                                    frames with captions; per shot its lock and every keyframe
                                    version (seed, parameters, bundle id, which one is current)
    backup/crops/<sha256>.png       face crops
    backup/references/<sha256>.png  reference frames
    backup/keyframes/<sha256>.png   every keyframe version's image
    backup/keyframes/<sha256>.npy   its (L, d) float32 visual tokens, when it has them

Restoring reads the archive defensively (it is an upload): only names the manifest or the
sample layout can hold are read, each member and the whole archive are size-limited, every
image goes through the upload validator and token files are read without pickle and
checked for shape. A ZIP without backup.json (an older export, or a sample zipped by hand)
is restored as a sample: script, cast photos and current keyframes. The restore is one
transaction: it makes a complete new project or nothing.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from sqlmodel import Session

from studio.db import KeyframeVersion, Project, ProjectSettings, ReferenceFrame
from studio.db import cast as cast_db
from studio.db import keyframe as keyframe_db
from studio.db import project as project_db
from studio.db import reference as reference_db
from studio.db import storyboard as storyboard_db
from studio.db.project import MAX_PROJECT_NAME, ProjectCreate
from studio.errors import MediaError, StudioError
from studio.media import MediaStore
from studio.media.upload import validate_image_upload
from studio.services.media_files import media_transaction
from studio.services.project_fill import ImportReport, fill_project, import_report
from studio.services.script_export import photo_export_name

logger = logging.getLogger(__name__)

BACKUP_FORMAT = "moviedreamer-studio-backup"
BACKUP_VERSION = 1
MANIFEST = "backup.json"
# An archive far bigger than this is no studio project; refuse before reading it.
MAX_BACKUP_BYTES = 4 * 1024**3
MAX_MEMBERS = 20_000
_MEMBER = re.compile(
    r"(?:script\.json|backup\.json|cast/[\w.\-]+\.png|frames/\d{6}\.png|backup/(?:crops|references|keyframes)/"
    r"[0-9a-f]{64}\.(?:png|npy))"
)


# -- writing ---------------------------------------------------------------------------------


def _add(
    archive: zipfile.ZipFile, written: set[str], name: str, data: bytes, *, compress: bool = False
) -> None:
    if name not in written:
        archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
        written.add(name)


def write_backup(archive: zipfile.ZipFile, *, session: Session, media: MediaStore, project: Project) -> None:
    """Add backup.json and the backup/ files of `project` to an open archive."""
    written: set[str] = set(archive.namelist())
    cast = []
    for character in cast_db.list_characters(session=session, project_id=project.id):
        photos = []
        for photo in cast_db.list_face_photos(session=session, character_id=character.id):
            crop = None
            if photo.crop_path:
                data = media.read_bytes(photo.crop_path)
                crop = f"backup/crops/{_sha(photo.crop_path)}.png"
                _add(archive, written, crop, data)
            embedding = (
                np.frombuffer(photo.embedding, dtype="<f4").tolist() if photo.embedding is not None else None
            )
            photos.append(
                {
                    "file": photo_export_name(character.position, character.name, photo.position),
                    "original_name": photo.original_name,
                    "crop": crop,
                    "embedding": embedding,
                    "detector": photo.detector,
                    "embedding_model": photo.embedding_model,
                }
            )
        cast.append({"name": character.name, "photos": photos})
    references = []
    for reference in reference_db.list_reference_frames(session=session, project_id=project.id):
        name = f"backup/references/{_sha(reference.media_path)}.png"
        _add(archive, written, name, media.read_bytes(reference.media_path))
        references.append(
            {"file": name, "caption": reference.caption, "original_name": reference.original_name}
        )
    shots = []
    for _, shot in storyboard_db.list_project_shots(session=session, project_id=project.id):
        versions = []
        for version in keyframe_db.list_keyframe_versions(session=session, shot_id=shot.id):
            image = f"backup/keyframes/{_sha(version.media_path)}.png"
            _add(archive, written, image, media.read_bytes(version.media_path))
            tokens = None
            if version.tokens_path:
                tokens = f"backup/keyframes/{_sha(version.tokens_path)}.npy"
                _add(archive, written, tokens, media.read_bytes(version.tokens_path), compress=True)
            versions.append(
                {
                    "file": image,
                    "tokens": tokens,
                    "seed": version.seed,
                    "params": version.params,
                    "bundle_id": version.bundle_id,
                    "current": version.id == shot.current_keyframe_id,
                }
            )
        shots.append({"locked": shot.locked, "versions": versions})
    manifest = {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "project": {
            "name": project.name,
            "logline": project.logline,
            "style": project.style,
            "settings": project.project_settings().model_dump(mode="json"),
        },
        "cast": cast,
        "references": references,
        "shots": shots,
    }
    _add(
        archive,
        written,
        MANIFEST,
        json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"),
        compress=True,
    )


def _sha(relative: str) -> str:
    """The content hash a stored media path is named by (the store is content-addressed)."""
    stem = Path(relative).stem
    if not re.fullmatch(r"[0-9a-f]{64}", stem):
        raise ValueError(f"media path {relative!r} is not content-addressed")
    return stem


# -- reading ---------------------------------------------------------------------------------


class _Archive:
    """The members of an uploaded ZIP that a backup may hold, read with limits."""

    def __init__(self, path: Path, media: MediaStore):
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError):
            raise StudioError(
                f"{path.name!r} is not a ZIP archive the studio can read; choose the backup ZIP exported from the "
                "Export tab."
            ) from None
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS or sum(info.file_size for info in infos) > MAX_BACKUP_BYTES:
            raise StudioError(
                "The ZIP is far bigger than any studio project; choose the backup ZIP of one project."
            )
        self.members = {info.filename: info for info in infos if _MEMBER.fullmatch(info.filename)}
        self.limit = max(media.limits.max_bytes, 64 * 1024 * 1024)

    def read(self, name: str) -> bytes:
        info = self.members.get(name)
        if info is None:
            raise MediaError(f"The backup has no file {name!r}; it was skipped.")
        if info.file_size > self.limit:
            raise MediaError(f"The file {name!r} in the backup is too large; it was skipped.")
        with self.zip.open(info) as handle:
            data = handle.read(self.limit + 1)
        if len(data) > self.limit:
            raise MediaError(f"The file {name!r} in the backup is too large; it was skipped.")
        return data

    def close(self) -> None:
        self.zip.close()


def _tokens(data: bytes, name: str) -> bytes:
    """`data` as a clean (L, d) float32 .npy, or MediaError."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as error:
        raise MediaError(
            f"The token file {name!r} cannot be read ({error}); that version keeps no tokens."
        ) from None
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
        raise MediaError(
            f"The token file {name!r} is not an (L, d) array of numbers; that version keeps no tokens."
        )
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype="<f4"), allow_pickle=False)
    return buffer.getvalue()


def restore_backup(*, session: Session, media: MediaStore, owner: str, path: str | Path) -> ImportReport:
    """A new project from an exported ZIP (see the module docstring); an ImportReport."""
    from core.script.errors import ScriptError
    from core.script.io import script_from_json

    archive = _Archive(Path(path), media)
    try:
        if "script.json" not in archive.members:
            raise StudioError(
                "The ZIP holds no script.json, so it is not a studio export; choose the ZIP from the Export tab."
            )
        try:
            script = script_from_json(archive.read("script.json"))
        except ScriptError as error:
            raise StudioError(
                "The backup's script could not be read; fix the problems listed, or export the project again.",
                [str(problem) for problem in error.problems],
            ) from None
        manifest = _manifest(archive)
        notes: list[str] = []
        with media.work_folder("restore-") as root:
            # Cast photos go through the same import as a sample folder's.
            for name in archive.members:
                if name.startswith("cast/"):
                    (root / "cast").mkdir(exist_ok=True)
                    try:
                        (root / name).write_bytes(archive.read(name))
                    except MediaError as error:
                        notes.append(str(error))
            with media_transaction(session, media) as written:
                settings, setting_notes = _settings(manifest)
                notes += setting_notes
                project = project_db.create_project(
                    session=session,
                    owner=owner,
                    project_in=ProjectCreate(
                        name=script.title.strip()[:MAX_PROJECT_NAME] or "Restored project", settings=settings
                    ),
                )
                photos, fill_notes, shots = fill_project(session, media, project, script, root, written)
                notes += fill_notes
                if manifest is None:
                    notes += _sample_frames(session, media, archive, project, shots, written)
                else:
                    details = manifest["project"]
                    project.name = str(details.get("name") or project.name).strip()[:MAX_PROJECT_NAME]
                    project.logline = str(details.get("logline", project.logline))
                    project.style = str(details.get("style", project.style))
                    notes += _restore_faces(session, media, archive, project, manifest, written)
                    notes += _restore_references(session, media, archive, project, manifest, written)
                    notes += _restore_versions(session, media, archive, project, shots, manifest, written)
                session.add(project)
    finally:
        archive.close()
    logger.info("project %s restored from %s", project.id, Path(path).name)
    return import_report(project, script, photos, notes)


def _manifest(archive: _Archive) -> dict[str, Any] | None:
    if MANIFEST not in archive.members:
        return None
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except ValueError:
        raise StudioError("The backup's backup.json is damaged; export the project again.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise StudioError(
            "The backup's backup.json is not a studio backup manifest; export the project again."
        )
    if int(manifest.get("version", 0)) > BACKUP_VERSION:
        raise StudioError(
            f"This backup was made by a newer studio (backup version {manifest.get('version')}); update MovieDreamer "
            "Studio to restore it."
        )
    for key, kind in (("project", dict), ("cast", list), ("references", list), ("shots", list)):
        if not isinstance(manifest.get(key), kind):
            raise StudioError(
                f"The backup's backup.json has no valid {key!r} entry; export the project again."
            )
    return manifest


def _settings(manifest: dict[str, Any] | None) -> tuple[ProjectSettings, list[str]]:
    if manifest is None:
        return ProjectSettings(), []
    try:
        settings = ProjectSettings.model_validate(manifest["project"].get("settings") or {})
    except ValueError:
        return ProjectSettings(), [
            "The backup's generation settings could not be read; the project uses the defaults."
        ]
    if settings.bundle_path and not Path(settings.bundle_path).is_dir():
        return settings.model_copy(update={"bundle_path": None}), [
            f"The backup used the model bundle {settings.bundle_path!r}, which this studio does not have; the "
            "project uses the default bundle (choose another in Settings)."
        ]
    return settings, []


def _image(media: MediaStore, archive: _Archive, name: str) -> Any:
    return validate_image_upload(
        archive.read(name),
        Path(name).name,
        max_bytes=media.limits.max_bytes,
        max_pixels=media.limits.max_pixels,
    )


def _restore_faces(session, media, archive, project, manifest, written) -> list[str]:
    notes: list[str] = []
    characters = cast_db.list_characters(session=session, project_id=project.id)
    for character, entry in zip(characters, manifest["cast"], strict=False):
        photos = {
            Path(p.original_name).name: p
            for p in cast_db.list_face_photos(session=session, character_id=character.id)
        }
        for saved in entry.get("photos", []) if isinstance(entry, dict) else []:
            photo = photos.get(Path(str(saved.get("file", ""))).name)
            if photo is None:
                continue
            photo.original_name = str(saved.get("original_name") or photo.original_name)
            if saved.get("crop") and saved.get("embedding") is not None:
                try:
                    crop = _image(media, archive, saved["crop"])
                    vector = np.asarray(saved["embedding"], dtype="<f4").reshape(-1)
                except (MediaError, ValueError, TypeError) as error:
                    notes.append(
                        f"{character.name}'s face crop was not restored ({error}); upload the photo again "
                        "to analyse it."
                    )
                else:
                    stored = media.write_bytes(media.kind_dir(project.id, "crops"), crop.png, ".png")
                    written.append(stored.path)
                    photo.crop_path, photo.embedding = stored.path, vector.tobytes()
                    photo.embedding_dim, photo.detector = int(vector.size), saved.get("detector")
                    photo.embedding_model = saved.get("embedding_model")
            session.add(photo)
    return notes


def _restore_references(session, media, archive, project, manifest, written) -> list[str]:
    notes: list[str] = []
    for entry in manifest["references"]:
        if not isinstance(entry, dict):
            continue
        try:
            image = _image(media, archive, str(entry.get("file", "")))
        except MediaError as error:
            notes.append(f"A reference frame was not restored: {error}")
            continue
        stored = media.write_bytes(media.kind_dir(project.id, "references"), image.png, ".png")
        written.append(stored.path)
        session.add(
            ReferenceFrame(
                project_id=project.id,
                media_path=stored.path,
                content_hash=image.sha256,
                width=image.width,
                height=image.height,
                caption=str(entry.get("caption", "")),
                original_name=str(entry.get("original_name", "")),
            )
        )
    return notes


def _restore_versions(session, media, archive, project, shots, manifest, written) -> list[str]:
    notes: list[str] = []
    saved_shots = manifest["shots"]
    if len(saved_shots) != len(shots):
        notes.append("The backup's keyframes do not match its script's shots, so they were not restored.")
        return notes
    for number, (shot, entry) in enumerate(zip(shots, saved_shots, strict=True), start=1):
        current = None
        for saved in entry.get("versions", []) if isinstance(entry, dict) else []:
            try:
                image = _image(media, archive, str(saved.get("file", "")))
            except MediaError as error:
                notes.append(f"A keyframe version of shot {number} was not restored: {error}")
                continue
            stored = media.write_bytes(media.kind_dir(project.id, "keyframes"), image.png, ".png")
            written.append(stored.path)
            tokens_path = None
            if saved.get("tokens"):
                try:
                    npy = _tokens(archive.read(str(saved["tokens"])), str(saved["tokens"]))
                except MediaError as error:
                    notes.append(f"Shot {number}: {error}")
                else:
                    stored_tokens = media.write_bytes(media.kind_dir(project.id, "keyframes"), npy, ".npy")
                    written.append(stored_tokens.path)
                    tokens_path = stored_tokens.path
            seed = saved.get("seed")
            version = KeyframeVersion(
                shot_id=shot.id,
                media_path=stored.path,
                content_hash=image.sha256,
                width=image.width,
                height=image.height,
                seed=int(seed) if isinstance(seed, int) else None,
                params=saved.get("params") if isinstance(saved.get("params"), dict) else {},
                bundle_id=saved.get("bundle_id") if isinstance(saved.get("bundle_id"), str) else None,
                tokens_path=tokens_path,
            )
            session.add(version)
            session.flush()
            if saved.get("current"):
                current = version.id
        if current is not None:
            shot.current_keyframe_id = current
            shot.locked = bool(entry.get("locked"))
            session.add(shot)
    return notes


def _sample_frames(session, media, archive, project, shots, written) -> list[str]:
    """The current keyframes of a ZIP without a manifest (frames/NNNNNN.png)."""
    notes: list[str] = []
    for number, shot in enumerate(shots):
        name = f"frames/{number:06d}.png"
        if name not in archive.members:
            continue
        try:
            image = _image(media, archive, name)
        except MediaError as error:
            notes.append(f"Keyframe of shot {number + 1}: {error}")
            continue
        stored = media.write_bytes(media.kind_dir(project.id, "keyframes"), image.png, ".png")
        written.append(stored.path)
        version = KeyframeVersion(
            shot_id=shot.id,
            media_path=stored.path,
            content_hash=image.sha256,
            width=image.width,
            height=image.height,
            seed=None,
            params={"source": "imported", "file": Path(name).name},
        )
        session.add(version)
        session.flush()
        shot.current_keyframe_id = version.id
        session.add(shot)
    return notes
