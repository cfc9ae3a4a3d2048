"""Keyframe versions of shots: add a generated image (with its seed and parameters), list
them, restore an older one as current, and lock shots against regeneration.

A locked shot keeps its current keyframe: no version is added to it and none restored until
it is unlocked, so a generation run over the whole storyboard can skip it safely.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlmodel import Session

from core.generate import shot_seed
from studio.db import KeyframeVersion, KeyframeVersionPublic, ProjectSettings, SeedPolicy, Shot, ShotPublic
from studio.db import keyframe as keyframe_db
from studio.db import project as project_db
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_keyframe, require_shot
from studio.services.media_files import media_transaction

MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class KeyframeVersionView:
    version: KeyframeVersionPublic
    number: int  # 1-based, oldest first
    path: Path
    is_current: bool


def choose_seed(settings: ProjectSettings, shot_number: int, rng: random.Random | None = None) -> int:
    """The seed for generating shot `shot_number` (1-based, story order) under the project's policy.

    PER_SHOT numbers seeds as the command line does (`python -m core.generate --seed N`: the
    shot at 0-based index t uses N + t), so shot 1 uses the seed itself and a storyboard made
    here with seed N is the one the command line makes with `--seed N`.
    RANDOM draws from `rng` (pass a seeded `random.Random` for reproducible tests; the default
    draws from the OS) and the drawn seed is stored on the version, so it can be made again.
    """
    if settings.seed_policy == SeedPolicy.FIXED:
        return settings.seed
    if settings.seed_policy == SeedPolicy.PER_SHOT:
        return shot_seed(settings.seed, shot_number - 1) % (MAX_SEED + 1)
    return (rng or random.SystemRandom()).randrange(0, MAX_SEED + 1)


def _png_bytes(image: Image.Image | np.ndarray) -> tuple[bytes, int, int]:
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
            raise ValueError(f"a keyframe array must be uint8 (H, W, 3|4), got {image.dtype} {image.shape}")
        image = Image.fromarray(image)  # (H, W, C) -> W x H image
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), image.width, image.height


def _refuse_if_locked(shot: Shot) -> None:
    if shot.locked:
        raise StudioError(
            "This shot is locked, so its keyframe stays as it is; unlock the shot to change it."
        )


def _npy_bytes(tokens: np.ndarray) -> bytes:
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.floating) or not np.all(np.isfinite(tokens)):
        raise ValueError(
            f"keyframe tokens must be a finite float (L, d) array, got {tokens.dtype} {tokens.shape}"
        )
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(tokens, dtype="<f4"), allow_pickle=False)
    return buffer.getvalue()


def load_keyframe_tokens(media: MediaStore, tokens_path: str | None) -> np.ndarray | None:
    """The (L, d) float32 tokens stored for a keyframe version, or None when it has none."""
    if not tokens_path:
        return None
    with io.BytesIO(media.read_bytes(tokens_path)) as buffer:
        return np.load(buffer, allow_pickle=False).astype(np.float32)


def add_keyframe_version(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    shot_id: int,
    image: Image.Image | np.ndarray,
    seed: int | None,
    params: dict[str, Any] | None = None,
    bundle_id: str | None = None,
    make_current: bool = True,
    tokens: np.ndarray | None = None,
) -> KeyframeVersionPublic:
    """Store a generated keyframe (and its (L, d) visual tokens) as a new version of the shot,
    and make it current.

    An image identical to one of the shot's versions (the same seed made again, a cancelled
    run repeated) adds no copy: that version is returned (and made current) instead.
    """
    shot, _, project = require_shot(session, shot_id, owner)
    _refuse_if_locked(shot)
    png, width, height = _png_bytes(image)
    digest = hashlib.sha256(png).hexdigest()
    same = next(
        (
            v
            for v in keyframe_db.list_keyframe_versions(session=session, shot_id=shot.id)
            if v.content_hash == digest
        ),
        None,
    )
    if same is not None:
        if make_current and shot.current_keyframe_id != same.id:
            shot.current_keyframe_id = same.id
            session.add(shot)
            project_db.touch_project(session=session, project=project)
            session.commit()
        return KeyframeVersionPublic.model_validate(same)
    npy = _npy_bytes(tokens) if tokens is not None else None
    with media_transaction(session, media) as written:
        stored = media.write_bytes(media.kind_dir(project.id, "keyframes"), png, ".png")
        written.append(stored.path)
        tokens_path = None
        if npy is not None:
            stored_tokens = media.write_bytes(media.kind_dir(project.id, "keyframes"), npy, ".npy")
            written.append(stored_tokens.path)
            tokens_path = stored_tokens.path
        version = KeyframeVersion(
            shot_id=shot.id,
            media_path=stored.path,
            content_hash=stored.sha256,
            width=width,
            height=height,
            seed=seed,
            params=dict(params or {}),
            bundle_id=bundle_id,
            tokens_path=tokens_path,
        )
        session.add(version)
        session.flush()
        if make_current:
            shot.current_keyframe_id = version.id
            session.add(shot)
        project_db.touch_project(session=session, project=project)
    return KeyframeVersionPublic.model_validate(version)


def list_keyframe_versions(
    *, session: Session, media: MediaStore, owner: str, shot_id: int
) -> list[KeyframeVersionView]:
    """The shot's versions, oldest first, with their files and which one is current."""
    shot, _, _ = require_shot(session, shot_id, owner)
    return [
        KeyframeVersionView(
            version=KeyframeVersionPublic.model_validate(version),
            number=number,
            path=media.resolve(version.media_path),
            is_current=version.id == shot.current_keyframe_id,
        )
        for number, version in enumerate(
            keyframe_db.list_keyframe_versions(session=session, shot_id=shot.id), start=1
        )
    ]


def restore_keyframe_version(*, session: Session, owner: str, keyframe_id: int) -> ShotPublic:
    """Make an earlier version the shot's current keyframe again."""
    version, shot, project = require_keyframe(session, keyframe_id, owner)
    _refuse_if_locked(shot)
    shot.current_keyframe_id = version.id
    session.add(shot)
    project_db.touch_project(session=session, project=project)
    session.commit()
    return ShotPublic.model_validate(shot)


def set_shot_locked(*, session: Session, owner: str, shot_id: int, locked: bool) -> ShotPublic:
    """Lock (keep the current keyframe) or unlock a shot."""
    shot, _, project = require_shot(session, shot_id, owner)
    if locked and shot.current_keyframe_id is None:
        raise StudioError("This shot has no keyframe yet; generate one before locking it.")
    shot.locked = locked
    session.add(shot)
    project_db.touch_project(session=session, project=project)
    session.commit()
    return ShotPublic.model_validate(shot)


def lock_shot(*, session: Session, owner: str, shot_id: int) -> ShotPublic:
    return set_shot_locked(session=session, owner=owner, shot_id=shot_id, locked=True)


def unlock_shot(*, session: Session, owner: str, shot_id: int) -> ShotPublic:
    return set_shot_locked(session=session, owner=owner, shot_id=shot_id, locked=False)
