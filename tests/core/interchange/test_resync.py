"""Matching the shots of two drafts of a screenplay."""

from core.interchange.resync import match_drafts
from core.script import Character, Scene, Script, Shot


def _script(*scenes):
    return Script(
        title="Draft",
        cast=[Character(name="Mara"), Character(name="Tom")],
        scenes=[
            Scene(heading=heading, shots=[Shot(plot=plot) for plot in plots]) for heading, plots in scenes
        ],
    )


OLD = _script(
    (
        "EXT. HARBOUR - DUSK",
        ["Gulls wheel above the boats.", "Mara steps off the bus.", "Mara walks to the quay."],
    ),
    ("INT. LIGHTHOUSE - NIGHT", ["Tom mends a net by the stove.", "A door creaks upstairs."]),
)


def test_an_unchanged_draft_keeps_every_shot():
    match = match_drafts(OLD, OLD)
    assert match.kept == [(i, i) for i in range(5)]
    assert match.added == [] and match.removed == [] and match.changed == []


def test_inserted_deleted_and_rewritten_shots():
    new = _script(
        (
            "EXT. HARBOUR - DUSK",
            ["Gulls wheel above the fishing boats.", "Rain starts to fall.", "Mara walks to the quay."],
        ),
        (
            "INT. LIGHTHOUSE - NIGHT",
            ["Tom mends a net by the stove.", "Mara knocks at the door.", "A door creaks upstairs."],
        ),
    )
    match = match_drafts(OLD, new)
    # rewritten sentence kept; "Mara steps off the bus." removed; two new shots
    assert match.kept == [(0, 0), (2, 2), (3, 3), (4, 5)]
    assert match.removed == [1]
    assert match.added == [1, 4]
    assert match.changed == [(0, 0)]


def test_a_moved_scene_keeps_its_shots_and_story_order_is_respected():
    new = _script(
        ("INT. LIGHTHOUSE - NIGHT", ["Tom mends a net by the stove.", "A door creaks upstairs."]),
        (
            "EXT. HARBOUR - DUSK",
            ["Gulls wheel above the boats.", "Mara steps off the bus.", "Mara walks to the quay."],
        ),
    )
    match = match_drafts(OLD, new)
    # the longest block in order stays; the other comes back as removed + added (asked, never guessed)
    assert len(match.kept) == 3
    assert sorted(match.removed) == [3, 4] and sorted(match.added) == [0, 1]


def test_unrelated_text_is_not_matched():
    new = _script(("EXT. DESERT - DAY", ["A camel crosses the dunes.", "Wind lifts the sand."]))
    match = match_drafts(OLD, new)
    assert match.kept == [] and match.added == [0, 1] and match.removed == [0, 1, 2, 3, 4]


def test_a_silent_character_the_plot_still_names_stays_in_a_kept_shot():
    from core.interchange.resync import kept_characters

    old = Shot(plot="Mara and Tom look at the sea.", characters=["Mara", "Tom"])
    # a draft where Tom never speaks: its importer does not know him as cast
    new = Shot(plot="Mara and Tom look at the grey sea.", characters=["Mara"])
    assert kept_characters(old, new) == ["Mara", "Tom"]
    assert kept_characters(old, Shot(plot="Mara looks at the sea.", characters=["Mara"])) == ["Mara"]
