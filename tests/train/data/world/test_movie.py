import pytest

from core.script import MAX_CHARACTERS_PER_SHOT, MAX_DESCRIPTIONS_PER_SHOT, MAX_SENTENCE_WORDS, Script
from train.data.world import generate_movie, render_keyframe
from train.data.world.movie import MAX_SCENE_SHOTS, MIN_SCENE_SHOTS, movie_length


def test_the_same_seed_gives_the_same_movie_and_frames_and_another_seed_does_not(pool):
    a = generate_movie(21, pool, num_shots=30)
    b = generate_movie(21, pool, num_shots=30)
    assert a.script.model_dump_json() == b.script.model_dump_json()
    assert a.ground_truth == b.ground_truth and a.frames == b.frames
    for spec_a, spec_b in zip(a.frames[:8], b.frames[:8], strict=True):
        assert render_keyframe(spec_a)[0].tobytes() == render_keyframe(spec_b)[0].tobytes()
    c = generate_movie(22, pool, num_shots=30)
    assert c.script.model_dump_json() != a.script.model_dump_json()
    assert render_keyframe(c.frames[0])[0].tobytes() != render_keyframe(a.frames[0])[0].tobytes()


@pytest.mark.parametrize("seed", range(6))
def test_scripts_validate_and_only_name_cast_members(pool, seed):
    allowed = pool[:10]
    movie = generate_movie(seed, allowed, min_shots=40, max_shots=90)
    script = Script.model_validate_json(movie.script.model_dump_json())
    assert script == movie.script
    cast = {c.name for c in script.cast}
    assert {i.name for i in movie.cast} == cast
    assert {i.identity_id for i in movie.cast} <= {i.identity_id for i in allowed}
    assert 40 <= script.num_shots <= 90
    assert script.num_shots == len(movie.frames) == len(movie.ground_truth)
    for index, ((s, k, shot), truth) in enumerate(zip(script.shots(), movie.ground_truth, strict=True)):
        assert set(shot.characters) <= cast
        assert len(shot.characters) <= MAX_CHARACTERS_PER_SHOT
        assert [c["name"] for c in truth["characters"]] == shot.characters
        assert (truth["frame"], truth["scene"], truth["shot"]) == (index, s, k)
        assert truth["shot_size"] == shot.size.value and truth["camera_angle"] == shot.angle.value
        assert truth["plot"] == shot.plot and truth["style"] == movie.frames[index].style
        for line in shot.dialogue:
            assert line.character in cast
        assert len(shot.plot.split()) <= MAX_SENTENCE_WORDS and shot.plot.endswith(".")
        # Descriptions the decoder reads for this frame: cast sentences plus scene elements.
        scene = script.scenes[s]
        descriptions = sum(len(script.character(n).description) for n in shot.characters) + len(
            scene.elements
        )
        assert descriptions <= MAX_DESCRIPTIONS_PER_SHOT
    for photos in movie.photos.values():
        assert photos and all(p.startswith("cast/") for p in photos)


def test_scenes_have_4_to_20_shots_and_the_requested_total(pool):
    for seed, total in ((1, 40), (2, 133), (3, 400), (4, 7)):
        movie = generate_movie(seed, pool, num_shots=total)
        lengths = [len(scene.shots) for scene in movie.script.scenes]
        assert sum(lengths) == total
        assert all(MIN_SCENE_SHOTS <= n <= MAX_SCENE_SHOTS for n in lengths), lengths
    assert generate_movie(5, pool, num_shots=2).script.num_shots == 2
    assert movie_length(9) == generate_movie(9, pool).num_frames


def test_characters_enter_and_leave_and_places_recur(pool):
    movie = generate_movie(8, pool, num_shots=200)
    plots = [shot.plot for _, _, shot in movie.script.shots()]
    assert any(" leaves " in p or " walks away from " in p for p in plots)
    assert any(" arrives" in p or " appears" in p or " steps into view" in p for p in plots)
    assert any(shot.dialogue for _, _, shot in movie.script.shots())
    # Within a scene the set of characters on screen changes (entrances and exits).
    changed = 0
    for scene in movie.script.scenes:
        casts = {frozenset(shot.characters) for shot in scene.shots}
        changed += len(casts) > 1
    assert changed >= len(movie.script.scenes) // 2
    places = [truth["place"] for truth in movie.ground_truth]
    scene_places = [movie.ground_truth[0]["place"]] + [
        b["place"]
        for a, b in zip(movie.ground_truth, movie.ground_truth[1:], strict=False)
        if a["scene"] != b["scene"]
    ]
    assert len(set(scene_places)) < len(scene_places)  # some place is revisited
    assert len(set(places)) >= 3


def test_generate_movie_refuses_impossible_requests(pool):
    with pytest.raises(ValueError, match="at least one identity"):
        generate_movie(0, [])
    with pytest.raises(ValueError, match="at least one shot"):
        generate_movie(0, pool, num_shots=0)
    with pytest.raises(ValueError, match="shot range"):
        generate_movie(0, pool, min_shots=50, max_shots=40)
    with pytest.raises(ValueError, match="unknown style"):
        generate_movie(0, pool, num_shots=5, style="vhs")
