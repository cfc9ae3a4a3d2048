"""The cast: identities drawn from visual attributes, their names, descriptions and splits.

An identity is a fixed combination of attributes (skin tone, hair colour and style, eye
colour, face shape, glasses, beard, hat, earrings, outfit colour and type) plus a name and
a pronoun. Its description sentences name only 2-3 of those attribute groups, as a real
script does, so the text alone often cannot tell two cast members apart: the face photos
and earlier keyframes carry the rest (`identikit` names everything, for measuring that).

Pools are drawn so that any two identities differ in at least `MIN_VISUAL_DIFFERENCES`
clearly visible attributes; that is what makes the toy cast tellable apart at wide shots.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from train.data.world.colour import RGB

# --- attribute tables: name -> RGB (or drawing variant) -----------------------------------

SKIN_TONES: dict[str, RGB] = {
    "pale": (250, 222, 204),
    "light": (238, 192, 158),
    "olive": (212, 166, 116),
    "tan": (190, 132, 88),
    "brown": (146, 94, 60),
    "dark brown": (94, 60, 40),
}
HAIR_COLOURS: dict[str, RGB] = {
    "black": (34, 30, 34),
    "brown": (104, 64, 36),
    "blonde": (236, 200, 96),
    "red": (200, 70, 30),
    "grey": (150, 150, 156),
    "white": (238, 238, 232),
    "blue": (48, 104, 226),
    "pink": (246, 120, 184),
    "purple": (132, 64, 190),
    "green": (46, 170, 90),
}
HAIR_STYLES = ("short", "long", "bob", "ponytail", "curly", "bun", "spiky", "buzz", "mohawk", "bald")
EYE_COLOURS: dict[str, RGB] = {
    "brown": (110, 66, 34),
    "blue": (60, 120, 220),
    "green": (60, 160, 80),
    "grey": (130, 140, 150),
    "hazel": (150, 120, 50),
    "amber": (200, 140, 30),
}
FACE_SHAPES = ("round", "oval", "square", "long", "heart")
GLASSES = ("none", "round", "square", "sunglasses")
BEARDS = ("none", "full", "goatee", "moustache")
HATS = ("none", "cap", "beanie", "fedora", "top hat")
HAT_COLOURS: dict[str, RGB] = {
    "red": (206, 40, 44),
    "blue": (40, 70, 180),
    "green": (40, 130, 60),
    "black": (36, 36, 40),
    "yellow": (240, 200, 40),
    "brown": (120, 80, 44),
    "white": (236, 236, 236),
}
EARRINGS = ("none", "gold", "silver")
METALS: dict[str, RGB] = {"gold": (236, 190, 50), "silver": (210, 214, 224)}
OUTFIT_COLOURS: dict[str, RGB] = {
    "red": (214, 44, 48),
    "orange": (240, 130, 30),
    "yellow": (246, 206, 40),
    "green": (52, 160, 70),
    "teal": (30, 160, 160),
    "blue": (44, 90, 210),
    "purple": (130, 60, 180),
    "pink": (240, 120, 170),
    "white": (240, 240, 236),
    "black": (40, 40, 46),
    "grey": (130, 134, 140),
    "brown": (130, 84, 46),
}
OUTFIT_TYPES = ("t-shirt", "hoodie", "suit", "dress", "raincoat", "sweater")
PRONOUNS = ("she", "he", "they")

# Attributes a viewer sees at a wide shot; eye colour and face shape only show up close.
VISUAL_KEYS = (
    "skin",
    "hair_colour",
    "hair_style",
    "outfit_colour",
    "outfit_type",
    "glasses",
    "hat",
    "beard",
)
MIN_VISUAL_DIFFERENCES = 3
# What a description may name; each identity's names 2-3 of these (`Identity.described_attributes`).
DESCRIBED_GROUPS = ("hair", "eyes", "face", "skin", "outfit_colour", "outfit_type", "accessories")

FEMININE_NAMES = (
    "Mara", "Lena", "Ada", "Iris", "Nora", "Zoe", "Maya", "Ruth", "Elsa", "Ines",
    "Tara", "Yuki", "Amara", "Leila", "Priya", "Sofia", "Hana", "Greta", "Alba", "Nina",
    "Clara", "Rosa", "Ivy", "June", "Vera", "Mila", "Ana", "Kira", "Lucia", "Olga",
    "Sana", "Dara", "Esme", "Freya", "Gemma", "Hazel", "Ida", "Jana", "Kaia", "Lila",
    "Mina", "Nell", "Opal", "Pia", "Rhea", "Selma", "Thea", "Uma", "Wren", "Yara",
    "Zara", "Aiko", "Bea", "Cleo", "Dina", "Edie", "Fern", "Gina", "Hope", "Lottie",
)  # fmt: skip
MASCULINE_NAMES = (
    "Tom", "Leo", "Omar", "Ravi", "Hugo", "Felix", "Ivan", "Jonas", "Kenji", "Luca",
    "Marco", "Nico", "Oscar", "Pablo", "Rafael", "Samir", "Teo", "Umar", "Victor", "Wes",
    "Yusuf", "Zane", "Amir", "Ben", "Carl", "Dev", "Emil", "Finn", "Gus", "Hal",
    "Igor", "Jack", "Karl", "Lars", "Milo", "Ned", "Otto", "Paul", "Rex", "Sean",
    "Theo", "Uri", "Will", "Abe", "Bruno", "Cyrus", "Dan", "Eli", "Femi", "Gil",
    "Hank", "Ike", "Jude", "Kofi", "Liam", "Mats", "Noah", "Oren", "Pete", "Rory",
)  # fmt: skip
NEUTRAL_NAMES = (
    "Alex", "Robin", "Sasha", "Kai", "Remy", "Jordan", "Rowan", "Sky", "Ari", "Jules",
    "Morgan", "Noa", "Riley", "Avery", "Eden", "Kit", "Lou", "Rio", "Sage", "Tay",
)  # fmt: skip
# Used only when a pool outgrows the first-name lists, to keep every name unique.
SURNAME_INITIALS = "BCDFGHKLMNPRSTVW"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _listing(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class Identity:
    """One cast member of the toy world. Frozen and hashable so specs can carry it."""

    identity_id: str
    name: str
    pronoun: str
    skin: str
    hair_colour: str
    hair_style: str
    eye_colour: str
    face_shape: str
    glasses: str
    beard: str
    hat: str
    hat_colour: str
    earrings: str
    outfit_colour: str
    outfit_type: str

    # -- derived text ------------------------------------------------------------------

    @property
    def attributes(self) -> dict[str, str]:
        """Every visual attribute by name (what identities.json stores)."""
        data = asdict(self)
        data.pop("identity_id")
        data.pop("name")
        return data

    @property
    def possessive(self) -> str:
        return {"she": "her", "he": "his", "they": "their"}[self.pronoun]

    def verb(self, singular: str, plural: str) -> str:
        """Pick the verb form that agrees with the pronoun ("wears"/"wear")."""
        return plural if self.pronoun == "they" else singular

    def hair_phrase(self) -> str:
        colour = self.hair_colour
        return {
            "short": f"short {colour} hair",
            "long": f"long {colour} hair",
            "bob": f"a {colour} bob",
            "ponytail": f"{colour} hair in a ponytail",
            "curly": f"big curly {colour} hair",
            "bun": f"{colour} hair in a bun",
            "spiky": f"spiky {colour} hair",
            "buzz": f"a {colour} buzz cut",
            "mohawk": f"a {colour} mohawk",
            "bald": "a bald head",
        }[self.hair_style]

    def outfit_phrase(self) -> str:
        kind = {"suit": "suit", "t-shirt": "T-shirt"}.get(self.outfit_type, self.outfit_type)
        return f"{_article(self.outfit_colour)} {self.outfit_colour} {kind}"

    def _worn(self) -> list[str]:
        """Accessories and outfit as noun phrases ("round glasses", "a red cap", "a teal hoodie")."""
        worn: list[str] = []
        if self.glasses == "sunglasses":
            worn.append("sunglasses")
        elif self.glasses != "none":
            worn.append(f"{self.glasses} glasses")
        if self.earrings != "none":
            worn.append(f"{self.earrings} earrings")
        if self.hat != "none":
            worn.append(f"{_article(self.hat_colour)} {self.hat_colour} {self.hat}")
        return worn

    def _beard(self) -> str:
        return {"full": "a full beard", "goatee": "a goatee", "moustache": "a moustache"}.get(self.beard, "")

    @property
    def identikit(self) -> list[str]:
        """Two sentences that name every visual attribute (what a viewer of a close-up sees).

        Not what a script says (see `description`); used to measure how much of an identity
        its description leaves open.
        """
        shape = "heart-shaped" if self.face_shape == "heart" else self.face_shape
        face = f"{_article(shape)} {shape}"
        # The name is the subject here, so the verb is singular whatever the pronoun.
        first = (
            f"{self.name} has {self.hair_phrase()}, {self.eye_colour} eyes, {face} face and {self.skin} skin."
        )
        worn = [*self._worn(), self.outfit_phrase()]
        items = worn[0] if len(worn) == 1 else ", ".join(worn[:-1]) + " and " + worn[-1]
        subject = self.pronoun.capitalize()
        if self.beard != "none":
            second = f"{subject} {self.verb('has', 'have')} {self._beard()} and {self.verb('wears', 'wear')} {items}."
        else:
            second = f"{subject} {self.verb('wears', 'wear')} {items}."
        return [first, second]

    @property
    def described_attributes(self) -> tuple[str, ...]:
        """The attribute groups the description names: 2-3 of `DESCRIBED_GROUPS`, fixed per identity.

        Real scripts introduce a character with a few traits ("a woman in a green raincoat"),
        not an identikit; the face photos and earlier keyframes carry the rest. The choice is
        a pure function of the identity (a string-seeded Random hashes stably), so it never
        changes between runs or machines.
        """
        rng = random.Random(f"describe/{self.identity_id}/{self.name}")
        groups = [g for g in DESCRIBED_GROUPS if g != "accessories" or self._worn() or self._beard()]
        chosen = set(rng.sample(groups, rng.choice((2, 2, 3))))
        return tuple(g for g in DESCRIBED_GROUPS if g in chosen)

    @property
    def description(self) -> list[str]:
        """One or two sentences naming only `described_attributes` (what the script says).

        At most two sentences: the decoder reads at most 15 description embeddings per frame
        (App. C), and five characters plus the scene elements must fit.
        """
        groups = self.described_attributes
        has: list[str] = []
        if "hair" in groups:
            has.append(self.hair_phrase())
        if "eyes" in groups:
            has.append(f"{self.eye_colour} eyes")
        if "face" in groups:
            shape = "heart-shaped" if self.face_shape == "heart" else self.face_shape
            has.append(f"{_article(shape)} {shape} face")
        if "skin" in groups:
            has.append(f"{self.skin} skin")
        worn: list[str] = []
        if "accessories" in groups:
            if self._beard():
                has.append(self._beard())
            worn += self._worn()
        if "outfit_colour" in groups and "outfit_type" in groups:
            worn.append(self.outfit_phrase())
        elif "outfit_colour" in groups:
            worn.append(f"{self.outfit_colour} clothes")
        elif "outfit_type" in groups:
            kind = {"suit": "suit", "t-shirt": "T-shirt"}.get(self.outfit_type, self.outfit_type)
            worn.append(f"{_article(kind)} {kind}")
        sentences = []
        subject = self.name
        if has:
            sentences.append(f"{self.name} has {_listing(has)}.")
            subject = self.pronoun.capitalize()
        if worn:
            verb = "wears" if subject == self.name else self.verb("wears", "wear")
            sentences.append(f"{subject} {verb} {_listing(worn)}.")
        return sentences

    # -- serialisation -------------------------------------------------------------------

    def to_json(self, split: str) -> dict:
        """The identities.json entry for this identity."""
        return {
            "name": self.name,
            "attributes": self.attributes,
            "description": self.description,
            "described_attributes": list(self.described_attributes),
            "split": split,
        }

    @classmethod
    def from_json(cls, identity_id: str, entry: dict) -> Identity:
        """Rebuild an identity from its identities.json entry."""
        try:
            return cls(identity_id=identity_id, name=entry["name"], **entry["attributes"])
        except (KeyError, TypeError) as error:
            raise ValueError(
                f"the identities.json entry for {identity_id!r} is not a toy-cinema identity ({error}); "
                "re-export the dataset with `python -m train.data.toy_cinema export`"
            ) from error

    def visual_differences(self, other: Identity) -> int:
        """How many clearly visible attributes differ (hair colour is moot on two bald heads)."""
        count = 0
        for key in VISUAL_KEYS:
            if key == "hair_colour" and self.hair_style == other.hair_style == "bald":
                continue
            if getattr(self, key) != getattr(other, key):
                count += 1
        return count


def _draw_attributes(rng: random.Random, pronoun: str) -> dict[str, str]:
    hair_style = rng.choice(HAIR_STYLES)
    # Natural hair colours dominate, as in any cast; the vivid ones keep the pool separable.
    hair_colour = rng.choices(list(HAIR_COLOURS), weights=[4, 4, 3, 3, 2, 1, 1, 1, 1, 1])[0]
    beard = rng.choices(BEARDS, weights=[5, 2, 1, 1])[0] if pronoun == "he" else "none"
    hat = rng.choices(HATS, weights=[8, 1, 1, 1, 1])[0]
    return {
        "pronoun": pronoun,
        "skin": rng.choice(list(SKIN_TONES)),
        "hair_colour": hair_colour,
        "hair_style": hair_style,
        "eye_colour": rng.choice(list(EYE_COLOURS)),
        "face_shape": rng.choice(FACE_SHAPES),
        "glasses": rng.choices(GLASSES, weights=[6, 1, 1, 1])[0],
        "beard": beard,
        "hat": hat,
        "hat_colour": rng.choice(list(HAT_COLOURS)) if hat != "none" else "none",
        "earrings": rng.choices(EARRINGS, weights=[3, 1, 1] if pronoun != "he" else [8, 1, 1])[0],
        "outfit_colour": rng.choice(list(OUTFIT_COLOURS)),
        "outfit_type": rng.choice(OUTFIT_TYPES),
    }


def make_identity_pool(seed: int, n: int) -> list[Identity]:
    """Draw `n` identities with unique names that pairwise differ in >= 3 visible attributes.

    Identity ids are "id0000".."id{n-1}" in draw order, so a pool is a pure function of
    (seed, n) and a bigger pool with the same seed starts with the smaller one.
    """
    if n < 1:
        raise ValueError(f"an identity pool needs at least 1 identity, not {n}; pass a positive --identities")
    rng = random.Random(seed)
    names_left = {
        "she": list(FEMININE_NAMES),
        "he": list(MASCULINE_NAMES),
        "they": list(NEUTRAL_NAMES),
    }
    for names in names_left.values():
        rng.shuffle(names)
    used_names: set[str] = set()
    pool: list[Identity] = []
    for index in range(n):
        pronoun = rng.choices(PRONOUNS, weights=[9, 9, 2])[0]
        if names_left[pronoun]:
            name = names_left[pronoun].pop()
        else:
            base = rng.choice({"she": FEMININE_NAMES, "he": MASCULINE_NAMES, "they": NEUTRAL_NAMES}[pronoun])
            name = f"{base} {rng.choice(SURNAME_INITIALS)}."
            while name in used_names:
                name = f"{base} {rng.choice(SURNAME_INITIALS)}."
        used_names.add(name)
        # Rejection sampling: the attribute space has ~10^6 visible combinations, so a few
        # hundred identities find a distinct combination within a handful of draws.
        for _attempt in range(10_000):
            candidate = Identity(identity_id=f"id{index:04d}", name=name, **_draw_attributes(rng, pronoun))
            if all(candidate.visual_differences(other) >= MIN_VISUAL_DIFFERENCES for other in pool):
                break
        else:
            raise ValueError(
                f"could not draw {n} visibly distinct identities; use a smaller pool (--identities)"
            )
        pool.append(candidate)
    return pool


def split_identities(
    pool: list[Identity], test_fraction: float, seed: int
) -> tuple[list[Identity], list[Identity]]:
    """Split a pool into (train, test); test identities never appear in training movies.

    At least one identity lands on each side whenever the fraction is strictly between 0
    and 1, so a tiny pool still has a held-out cast.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(
            f"the test fraction is {test_fraction:g}; it must be at least 0 and below 1 (e.g. 0.2)"
        )
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    n_test = round(len(pool) * test_fraction)
    if test_fraction > 0:
        n_test = min(max(n_test, 1), len(pool) - 1)
    held_out = set(order[:n_test])
    train = [identity for i, identity in enumerate(pool) if i not in held_out]
    test = [identity for i, identity in enumerate(pool) if i in held_out]
    return train, test
