import pytest

from core.script import MAX_SENTENCE_WORDS, Character
from train.data.world.cast import (
    DESCRIBED_GROUPS,
    HAIR_COLOURS,
    MIN_VISUAL_DIFFERENCES,
    OUTFIT_COLOURS,
    Identity,
    make_identity_pool,
    split_identities,
)


def test_pool_is_deterministic_and_a_bigger_pool_extends_a_smaller_one():
    assert make_identity_pool(3, 20) == make_identity_pool(3, 20)
    assert make_identity_pool(3, 30)[:20] == make_identity_pool(3, 20)
    assert make_identity_pool(4, 20) != make_identity_pool(3, 20)


def test_names_are_unique_and_identities_differ_in_several_visible_attributes():
    pool = make_identity_pool(0, 150)
    assert len({i.name for i in pool}) == len(pool)
    assert len({i.identity_id for i in pool}) == len(pool)
    for a in range(len(pool)):
        for b in range(a):
            assert pool[a].visual_differences(pool[b]) >= MIN_VISUAL_DIFFERENCES
    # The pool uses the attribute space, not a corner of it.
    assert len({i.hair_colour for i in pool}) == len(HAIR_COLOURS)
    assert len({i.outfit_colour for i in pool}) == len(OUTFIT_COLOURS)


def _named_phrases(identity: Identity) -> dict[str, list[str]]:
    """What each attribute group puts into a sentence."""
    accessories = []
    if identity.glasses != "none":
        accessories.append(
            "sunglasses" if identity.glasses == "sunglasses" else f"{identity.glasses} glasses"
        )
    if identity.hat != "none":
        accessories.append(f"{identity.hat_colour} {identity.hat}")
    if identity.earrings != "none":
        accessories.append(f"{identity.earrings} earrings")
    if identity.beard != "none":
        accessories.append(
            {"full": "full beard", "goatee": "goatee", "moustache": "moustache"}[identity.beard]
        )
    return {
        "hair": [identity.hair_colour] if identity.hair_style != "bald" else ["bald"],
        "eyes": [f"{identity.eye_colour} eyes"],
        "face": [f"{identity.face_shape}"],
        "skin": [f"{identity.skin} skin"],
        "outfit_colour": [identity.outfit_colour],
        "outfit_type": [identity.outfit_type.lower()],
        "accessories": accessories,
    }


def test_identikit_names_every_visible_attribute_and_fits_the_sentence_encoder(pool):
    for identity in pool:
        sentences = identity.identikit
        assert len(sentences) == 2
        text = " ".join(sentences).lower()
        assert identity.name.lower() in text
        for phrases in _named_phrases(identity).values():
            for phrase in phrases:
                assert phrase in text, (phrase, sentences)
        assert " a a" not in text and " a o" not in text  # "an orange", never "a orange"
        assert all(len(s.split()) <= MAX_SENTENCE_WORDS for s in sentences)


def test_descriptions_name_two_or_three_attribute_groups_and_only_those(pool):
    """A script names a few traits; the face photos carry the rest."""
    counts = set()
    for identity in pool:
        groups = identity.described_attributes
        assert 2 <= len(groups) <= 3 and set(groups) <= set(DESCRIBED_GROUPS)
        counts.add(len(groups))
        sentences = identity.description
        assert 1 <= len(sentences) <= 2
        text = " ".join(sentences).lower()
        assert identity.name.lower() in text
        phrases = _named_phrases(identity)
        for group in groups:
            for phrase in phrases[group]:
                assert phrase in text, (group, phrase, sentences)
        if "eyes" not in groups:
            assert " eyes" not in text
        if "skin" not in groups:
            assert " skin" not in text
        assert " a a" not in text and " a o" not in text
        assert all(len(s.split()) <= MAX_SENTENCE_WORDS for s in sentences)
        Character(name=identity.name, description=sentences)  # the script model accepts them
        assert identity.description == Identity(**vars(identity)).description  # fixed per identity
    assert counts == {2, 3}
    # Which groups get named varies between identities.
    assert len({identity.described_attributes for identity in pool}) >= 10


def test_split_is_disjoint_complete_deterministic_and_sized():
    pool = make_identity_pool(0, 60)
    train, test = split_identities(pool, 0.2, seed=0)
    assert len(test) == 12 and len(train) == 48
    assert not {i.identity_id for i in train} & {i.identity_id for i in test}
    assert {i.identity_id for i in train} | {i.identity_id for i in test} == {i.identity_id for i in pool}
    assert split_identities(pool, 0.2, seed=0) == (train, test)
    assert split_identities(pool, 0.2, seed=1)[1] != test
    # A tiny pool still holds one identity out.
    assert len(split_identities(pool[:3], 0.1, seed=0)[1]) == 1


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_split_rejects_a_fraction_outside_0_1(fraction):
    with pytest.raises(ValueError, match="test fraction"):
        split_identities(make_identity_pool(0, 5), fraction, seed=0)


def test_identity_round_trips_through_identities_json_entries(pool):
    for identity in pool:
        entry = identity.to_json("test")
        assert set(entry) == {"name", "attributes", "description", "described_attributes", "split"}
        assert Identity.from_json(identity.identity_id, entry) == identity
    with pytest.raises(ValueError, match="re-export"):
        Identity.from_json("id9999", {"name": "X", "attributes": {"hair": "red"}})
