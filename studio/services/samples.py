"""Sample projects: folders under assets/samples/<name>/ that open as a new project.

A sample folder has the layout of an exported ZIP and of a toy-cinema movie:

    script.json            a core.script Script; Character.photos relative to the folder
    cast/*.png             the face photos it names
    frames/000000.png ...  optional: one keyframe per shot in story order
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from studio.errors import StudioError
from studio.media import MediaStore
from studio.services.script_import import ImportReport, new_project_from_script, parse_script

logger = logging.getLogger(__name__)

SCRIPT_FILE = "script.json"
FRAMES_DIR = "frames"
_SAMPLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class SampleInfo:
    name: str  # the folder name, what open_sample takes
    title: str
    logline: str
    num_shots: int
    path: Path


def list_samples(samples_dir: Path) -> list[SampleInfo]:
    """The valid sample folders, by name; broken ones are logged and left out."""
    samples_dir = Path(samples_dir)
    if not samples_dir.is_dir():
        return []
    samples = []
    for folder in sorted(p for p in samples_dir.iterdir() if p.is_dir() and _SAMPLE_NAME.fullmatch(p.name)):
        script_file = folder / SCRIPT_FILE
        if not script_file.is_file():
            continue
        try:
            script = parse_script(script_file, "json")
        except StudioError as error:
            logger.warning("sample %s is not a valid script: %s %s", folder.name, error, error.problems)
            continue
        samples.append(
            SampleInfo(
                name=folder.name,
                title=script.title,
                logline=script.logline,
                num_shots=script.num_shots,
                path=folder,
            )
        )
    return samples


def open_sample(
    *, session: Session, media: MediaStore, owner: str, name: str, samples_dir: Path
) -> ImportReport:
    """A new project of `owner` made from the sample folder `name`."""
    known = {sample.name: sample for sample in list_samples(samples_dir)}
    # Only names listed above are opened, so a crafted name cannot reach other folders.
    sample = known.get(name)
    if sample is None:
        choices = ", ".join(sorted(known)) or "none are installed"
        raise StudioError(f"There is no sample project called {name!r}; choose one of: {choices}.")
    script = parse_script(sample.path / SCRIPT_FILE, "json")
    frames = sample.path / FRAMES_DIR
    return new_project_from_script(
        session=session,
        media=media,
        owner=owner,
        script=script,
        photo_root=sample.path,
        frames_dir=frames if frames.is_dir() else None,
    )
