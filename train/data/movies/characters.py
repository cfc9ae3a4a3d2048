"""Stage 3, characters: cluster the film's face embeddings into characters, keep a face bank each.

    (F, E) face embeddings --unit length--> cosine distances (F, F)
        --two faces of one keyframe are two people: their distance is set to CANNOT_LINK-->
        --scipy agglomerative clustering (average linkage), cut at `threshold`-->
        clusters; those with >= min_faces faces are characters, the rest extras

The face bank of a character (at most `bank_size` faces, the largest first) is where stage 2
of training draws its face-embedding randomisation from: the same character, another frame.
The representative face (the one closest to the cluster's mean) is what the captioner sees.

Characters are named "Character 1", "Character 2"... by size; the captions stage may give
them real names (the ground-truth captioner of toy-cinema videos does), and characters that
end up with the same name are one cast member of the script.

Output folder: `characters.json` {"characters": [{"name", "faces", "bank", "representative"}],
"labels": [character index per face, -1 for extras], "clusters": [raw cluster per face]}.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist, squareform

from core.files import write_json_atomically
from train.data.movies.people import PeopleSet
from train.data.movies.work import read_json

logger = logging.getLogger(__name__)

CHARACTERS_FILE = "characters.json"
# Larger than any cosine distance (at most 2): the linkage keeps faces that share a keyframe apart.
CANNOT_LINK = 4.0


@dataclass(frozen=True)
class CharacterConfig:
    linkage: str = "average"  # scipy linkage method
    # Cosine distance at which clusters stop merging. Tuned for the colour-layout descriptor
    # on 14 toy-cinema films (12-30 shots, 1-5 cast members): 0.25 kept every film's purity
    # at 1.0 with 0-4 extra characters per film (a person split in two); 0.3 let two films
    # drop to 0.85. A trained face model wants its own value.
    threshold: float = 0.25
    min_faces: int = 2  # smaller clusters are extras (passers-by, false detections), not characters
    bank_size: int = 32
    # Subtract the film's mean embedding first. Off by default: with one or two cast members
    # the mean is nearly a face, and the centred distances are left with pose and light only.
    centre: bool = False


@dataclass(frozen=True)
class Character:
    name: str
    faces: list[int]  # face indices (stage 2's numbering)
    bank: list[int]  # the face bank, a subset of faces
    representative: int


def cluster_faces(embeddings: np.ndarray, keyframe_of_face: list[int], config: CharacterConfig) -> np.ndarray:
    """A cluster label (0-based) per face; faces sharing a keyframe never start out together."""
    n = embeddings.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    x = embeddings.astype(np.float64)
    if config.centre:
        x = x - x.mean(axis=0, keepdims=True)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    distances = squareform(pdist(x, metric="cosine"))  # (F, F)
    frames = np.asarray(keyframe_of_face)
    same_frame = (frames[:, None] == frames[None, :]) & ~np.eye(n, dtype=bool)
    distances[same_frame] = CANNOT_LINK
    tree = linkage(squareform(distances, checks=False), method=config.linkage)
    return fcluster(tree, t=config.threshold, criterion="distance").astype(np.int64) - 1


@dataclass(frozen=True)
class Casting:
    characters: list[Character]  # largest first
    labels: list[int]  # character index per face, -1 for extras
    clusters: list[int]  # raw cluster per face (extras keep their own small clusters)


def find_characters(people: PeopleSet, config: CharacterConfig) -> Casting:
    """Cluster the film's faces into characters."""
    labels = cluster_faces(people.embeddings, [f["keyframe"] for f in people.faces], config)
    sizes = Counter(labels.tolist())
    kept = [
        label
        for label, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
        if size >= config.min_faces
    ]
    index_of = {label: i for i, label in enumerate(kept)}
    characters = []
    for i, label in enumerate(kept):
        members = [int(f) for f in np.flatnonzero(labels == label)]
        vectors = people.embeddings[members].astype(np.float64)
        centre = vectors.mean(axis=0)
        representative = members[int(np.argmin(np.linalg.norm(vectors - centre, axis=1)))]
        by_size = sorted(members, key=lambda f: -_area(people.faces[f]["box"]))
        characters.append(
            Character(f"Character {i + 1}", members, sorted(by_size[: config.bank_size]), representative)
        )
    per_face = [index_of.get(int(label), -1) for label in labels]
    return Casting(characters, per_face, [int(label) for label in labels])


def _area(box: list[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def write_characters(folder: Path, casting: Casting) -> None:
    write_json_atomically(
        folder / CHARACTERS_FILE,
        {
            "characters": [
                {"name": c.name, "faces": c.faces, "bank": c.bank, "representative": c.representative}
                for c in casting.characters
            ],
            "labels": casting.labels,
            "clusters": casting.clusters,
        },
    )


def load_characters(folder: Path) -> Casting:
    data = read_json(Path(folder) / CHARACTERS_FILE)
    return Casting([Character(**c) for c in data["characters"]], list(data["labels"]), list(data["clusters"]))


def purity(labels: list[Any], truth: list[Any]) -> float:
    """Cluster purity: the share of items whose cluster's majority class is their own class."""
    if len(labels) != len(truth):
        raise ValueError(
            f"{len(labels)} cluster labels but {len(truth)} true classes; give one of each per item."
        )
    if not labels:
        raise ValueError("Purity needs at least one clustered item.")
    majority = 0
    for label in set(labels):
        members = [t for cluster, t in zip(labels, truth, strict=True) if cluster == label]
        majority += Counter(members).most_common(1)[0][1]
    return majority / len(labels)
