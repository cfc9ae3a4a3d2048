"""Pipeline outputs matched against a toy-cinema video's ground truth.

Only for toy-cinema videos (a `.toy-cinema.json` beside the MP4): which cast member is
behind each face stage 2 found (the face box that overlaps the recorded face box most), and
from that how pure the characters of stage 3 are. The ground-truth captioner names the
characters this way; tests and the benchmark measure cluster purity this way.
"""

from __future__ import annotations

from collections import Counter

from train.data.movies.characters import Casting, purity
from train.data.movies.keyframes import KeyframeSet
from train.data.movies.people import PeopleSet
from train.data.movies.toy_video import ToyGroundTruth

# A detected face counts as a recorded one when their boxes overlap at least this much (IoU).
MIN_IOU = 0.3


def _iou(a: list[float] | tuple[float, ...], b: list[float] | tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def face_identities(truth: ToyGroundTruth, keyframes: KeyframeSet, people: PeopleSet) -> list[str | None]:
    """The identity id behind each face of `people` (None for a face matching no cast member)."""
    out: list[str | None] = []
    for face in people.faces:
        frame = keyframes.keyframes[face["keyframe"]].frame
        best, best_iou = None, MIN_IOU
        for character in truth.characters_at(frame):
            iou = _iou(face["box"], keyframes.to_keyframe(tuple(character["face_box"])))
            if iou >= best_iou:
                best, best_iou = character["identity"], iou
        out.append(best)
    return out


def majority_identity(faces: list[int], identities: list[str | None]) -> str | None:
    """The identity most of `faces` show (None when none of them matches a cast member)."""
    votes = Counter(identities[f] for f in faces if identities[f] is not None)
    return votes.most_common(1)[0][0] if votes else None


def casting_report(
    truth: ToyGroundTruth, keyframes: KeyframeSet, people: PeopleSet, casting: Casting
) -> dict:
    """Purity of the raw clusters over every face matched to a cast member, and what was found.

    `purity` counts every matched face, extras included (each small cluster on its own), so
    it cannot be raised by dropping hard faces; `characters` and `cast` show whether the film
    was split into too many or too few characters; `coverage` is the share of matched faces
    that landed in a character rather than an extra.
    """
    identities = face_identities(truth, keyframes, people)
    matched = [i for i, identity in enumerate(identities) if identity is not None]
    if not matched:
        raise ValueError(
            f"No detected face of {truth.path.name} matches a recorded face; nothing to evaluate."
        )
    return {
        "purity": purity([casting.clusters[i] for i in matched], [identities[i] for i in matched]),
        "faces": len(matched),
        "characters": len(casting.characters),
        "cast": len({identities[i] for i in matched}),
        "coverage": sum(casting.labels[i] >= 0 for i in matched) / len(matched),
    }
