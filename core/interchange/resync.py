"""Re-syncing a revised screenplay: which shots of the old draft live on in the new one.

A new draft of a screenplay arrives as a new `Script`. The storyboard made from the old one
has work in its shots (keyframe versions, locks, seeds) that must not be lost where a shot
is still there, so `match_drafts` pairs the shots of both drafts in story order:

1. shots whose scene heading and plot are unchanged (spacing and case aside) are paired by
   a longest-common-subsequence alignment (difflib), so inserted, deleted and moved blocks
   do not disturb the rest;
2. between two such anchors, the remaining shots are paired when their plots are similar
   enough (difflib ratio of the words >= `threshold`, plus a bonus for the same heading and
   the same characters), keeping story order: a rewritten sentence keeps its keyframes;
3. what is left is added (new draft) or removed (old draft). Removed shots are only listed:
   the caller asks the user before deleting them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from core.script import MAX_CHARACTERS_PER_SHOT, Script, Shot

DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class DraftMatch:
    kept: list[tuple[int, int]]  # (old story-order index, new story-order index), in story order
    added: list[int]  # new story-order indices with no old shot
    removed: list[int]  # old story-order indices with no new shot: ask before deleting
    changed: list[
        tuple[int, int]
    ]  # the kept pairs whose screenplay text differs (heading, plot, cast, lines)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.casefold()))


def _key(heading: str, shot: Shot) -> str:
    return f"{_words(heading)}|{_words(shot.plot)}"


def kept_characters(old: Shot, new: Shot) -> list[str]:
    """The characters of a kept shot: the new draft's, plus the old ones its plot still names.

    A screenplay's importer knows only the characters who speak somewhere in it, so a silent
    character the storyboard placed in the shot stays while the plot mentions them.
    """
    names = list(new.characters)
    for name in old.characters:
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?!\w)"
        if name.casefold() not in {n.casefold() for n in names} and re.search(
            pattern, new.plot, re.IGNORECASE
        ):
            names.append(name)
    return names[:MAX_CHARACTERS_PER_SHOT]


def _screenplay_text(heading: str, shot: Shot) -> tuple[object, ...]:
    """What a screenplay says about a shot; camera, duration and notes are the storyboard's."""
    return (
        heading,
        shot.plot,
        tuple(shot.characters),
        tuple(line.model_dump().items() for line in shot.dialogue),
    )


def _similarity(old: tuple[str, Shot], new: tuple[str, Shot]) -> float:
    (old_heading, old_shot), (new_heading, new_shot) = old, new
    plot = difflib.SequenceMatcher(None, _words(old_shot.plot).split(), _words(new_shot.plot).split()).ratio()
    same_place = _words(old_heading) == _words(new_heading)
    same_cast = {c.casefold() for c in old_shot.characters} == {c.casefold() for c in new_shot.characters}
    return plot + 0.1 * same_place + 0.05 * same_cast


def match_drafts(old: Script, new: Script, threshold: float = DEFAULT_THRESHOLD) -> DraftMatch:
    """Pair the shots of the `old` and `new` drafts (see the module docstring)."""
    old_shots = [(old.scenes[s].heading, shot) for s, _, shot in old.shots()]
    new_shots = [(new.scenes[s].heading, shot) for s, _, shot in new.shots()]
    old_keys = [_key(h, shot) for h, shot in old_shots]
    new_keys = [_key(h, shot) for h, shot in new_shots]
    kept: list[tuple[int, int]] = []
    added: list[int] = []
    removed: list[int] = []
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            kept.extend(zip(range(i1, i2), range(j1, j2), strict=True))
            continue
        pairs = _ordered_pairs(old_shots, new_shots, range(i1, i2), range(j1, j2), threshold)
        kept.extend(pairs)
        removed.extend(i for i in range(i1, i2) if i not in {a for a, _ in pairs})
        added.extend(j for j in range(j1, j2) if j not in {b for _, b in pairs})
    kept.sort(key=lambda pair: pair[1])
    changed = [
        (i, j)
        for i, j in kept
        if _screenplay_text(*old_shots[i])
        != _screenplay_text(
            new_shots[j][0],
            new_shots[j][1].model_copy(
                update={"characters": kept_characters(old_shots[i][1], new_shots[j][1])}
            ),
        )
    ]
    return DraftMatch(kept=kept, added=sorted(added), removed=sorted(removed), changed=changed)


def _ordered_pairs(
    old_shots: list[tuple[str, Shot]],
    new_shots: list[tuple[str, Shot]],
    olds: range,
    news: range,
    threshold: float,
) -> list[tuple[int, int]]:
    """The best story-order-keeping pairing of two runs of shots (dynamic programming over the
    similarity of each pair; pairs below `threshold` are never made)."""
    n, m = len(olds), len(news)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for a in range(n - 1, -1, -1):
        for b in range(m - 1, -1, -1):
            best = max(score[a + 1][b], score[a][b + 1])
            similarity = _similarity(old_shots[olds[a]], new_shots[news[b]])
            if similarity >= threshold:
                best = max(best, similarity + score[a + 1][b + 1])
            score[a][b] = best
    pairs: list[tuple[int, int]] = []
    a = b = 0
    while a < n and b < m:
        similarity = _similarity(old_shots[olds[a]], new_shots[news[b]])
        if similarity >= threshold and score[a][b] == similarity + score[a + 1][b + 1]:
            pairs.append((olds[a], news[b]))
            a, b = a + 1, b + 1
        elif score[a][b] == score[a + 1][b]:
            a += 1
        else:
            b += 1
    return pairs
