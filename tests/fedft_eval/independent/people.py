"""People and organizations: names from many locales (Faker supplies the words, the ways of
writing them are ours), e-mail addresses and personal URLs built from them, employers."""

from __future__ import annotations

import random
import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache

from faker import Faker

from fedft_eval.independent.corpus import Pii

__all__ = ["Person", "Source", "email_for", "organization", "person", "personal_url"]


@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


class Source:
    """Randomness for one document: its own `random.Random` and Faker instances re-seeded from
    it, so document i is the same whatever the corpus size, the day, or the other documents."""

    def __init__(self, *, seed: int, index: int):
        self.rng = random.Random(f"independent:{seed}:{index}")
        self._doc_seed = self.rng.randrange(2**32)
        self._seeded: set[str] = set()

    def faker(self, locale: str) -> Faker:
        fake = _faker(locale)
        if locale not in self._seeded:
            fake.seed_instance(self._doc_seed ^ zlib.crc32(locale.encode()))
            self._seeded.add(locale)
        return fake


# (locale, weight, family name first). Weights lean to English text, but a quarter of the
# people come from outside the Anglosphere.
_LOCALES = (
    ("en_US", 14, False),
    ("en_GB", 5, False),
    ("en_IE", 2, False),
    ("de_DE", 4, False),
    ("fr_FR", 4, False),
    ("it_IT", 3, False),
    ("es_ES", 4, False),
    ("nl_NL", 3, False),
    ("fi_FI", 3, False),
    ("da_DK", 2, False),
    ("sv_SE", 2, False),
    ("cs_CZ", 2, False),
    ("hu_HU", 2, True),
    ("pl_PL", 3, False),
    ("tr_TR", 2, False),
    ("en_IN", 5, False),
    ("pt_BR", 3, False),
    ("yo_NG", 2, False),
    ("zu_ZA", 1, False),
    ("id_ID", 1, False),
    ("vi_VN", 2, True),
    ("zh_CN", 3, True),
    ("ja_JP", 2, False),
    ("et_EE", 1, False),
    ("ro_RO", 1, False),
    ("ar", 3, False),
)
_ARABIC_FIRST = (
    "Youssef",
    "Fatima",
    "Omar",
    "Layla",
    "Khalid",
    "Noor",
    "Hamza",
    "Amira",
    "Tariq",
    "Samira",
    "Bilal",
    "Rania",
    "Karim",
    "Huda",
    "Ziad",
    "Mariam",
)
_ARABIC_LAST = (
    "Haddad",
    "Mansour",
    "Khoury",
    "Nasser",
    "Saleh",
    "Hamdan",
    "Aziz",
    "Farouk",
    "Qasim",
    "Barakat",
    "Darwish",
    "Othman",
    "Al-Sayed",
    "El-Amin",
)
_INITIALS = "ABCDEFGHJKLMNPRSTW"


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    family_first: bool
    locale: str
    middle: str  # an initial, used by some styles

    def full(self, style: str = "full") -> Pii:
        text = f"{self.last} {self.first}" if self.family_first else f"{self.first} {self.last}"
        return Pii("PERSON", text, style if not self.family_first else f"{style}_family_first")

    def with_middle(self, *, dot: bool) -> Pii:
        mid = self.middle + ("." if dot else "")
        return Pii("PERSON", f"{self.first} {mid} {self.last}", "middle_initial")

    def initial_last(self) -> Pii:
        return Pii("PERSON", f"{self.first[0]}. {self.last}", "initial_surname")

    def surname(self, style: str = "surname") -> Pii:
        return Pii("PERSON", self.last, style)

    def given(self, style: str = "first_name") -> Pii:
        return Pii("PERSON", self.first, style)

    def lower(self) -> Pii:
        return Pii("PERSON", f"{self.first} {self.last}".lower(), "lowercase")

    def upper_last(self) -> Pii:
        return Pii("PERSON", f"{self.last.upper()}, {self.first}", "caps_surname_comma")


def person(src: Source, *, locale: str | None = None) -> Person:
    rng = src.rng
    if locale is None:
        locale = rng.choices([c[0] for c in _LOCALES], weights=[c[1] for c in _LOCALES])[0]
    family_first = dict((c[0], c[2]) for c in _LOCALES).get(locale, False)
    if locale == "ar":
        first, last = rng.choice(_ARABIC_FIRST), rng.choice(_ARABIC_LAST)
    elif locale in ("zh_CN", "ja_JP"):
        fake = src.faker(locale)
        first, last = fake.first_romanized_name(), fake.last_romanized_name()
    else:
        fake = src.faker(locale)
        first, last = fake.first_name(), fake.last_name()
        if locale == "es_ES" and rng.random() < 0.4:
            last = f"{last} {fake.last_name()}"  # two surnames, as Spanish names often have
    return Person(first, last, family_first, locale, rng.choice(_INITIALS))


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(text: str, sep: str = "") -> str:
    return sep.join(w for w in ascii_fold(text).lower().replace("-", " ").split() if w)


_MAIL_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "web.de",
    "gmx.net",
    "orange.fr",
    "libero.it",
    "hotmail.es",
    "kolumbus.fi",
    "proton.me",
    "icloud.com",
    "wp.pl",
    "seznam.cz",
    "freemail.hu",
    "rediffmail.com",
    "uol.com.br",
)


def email_for(src: Source, p: Person) -> Pii:
    rng = src.rng
    first, last = _slug(p.first), _slug(p.last)
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}_{last}{rng.randint(1, 99)}",
            f"{last}.{first[0]}",
            f"{first}{rng.randint(1950, 2005)}",
        )
    )
    domain = (
        rng.choice(_MAIL_DOMAINS)
        if rng.random() < 0.7
        else f"{_slug(src.faker('en_US').last_name())}-law.com"
    )
    return Pii("EMAIL", f"{local}@{domain}", "plain")


def personal_url(src: Source, p: Person) -> Pii:
    rng = src.rng
    first, last = _slug(p.first), _slug(p.last)
    url = rng.choice(
        (
            f"https://www.facebook.com/{first}.{last}.{rng.randint(1, 999)}",
            f"linkedin.com/in/{first}-{last}-{rng.randrange(16**4):04x}",
            f"https://instagram.com/{first}_{last}{rng.randint(1, 99)}",
            f"http://www.{last}{first}.net/blog/",
            f"https://github.com/{first[0]}{last}",
            f"www.{last}-family.org/photos?album={rng.randint(100, 9999)}",
        )
    )
    return Pii("URL", url, "personal")


_ORG_TAILS = (
    "Plumbing & Heating",
    "Dental Group",
    "Logistics",
    "Family Farm",
    "Roofing Ltd",
    "Accountancy",
    "Auto Repair",
    "Bakery",
    "Architects",
    "Veterinary Clinic",
)
_ORG_PLACES = (
    "Riverside",
    "Northgate",
    "Harbourview",
    "Maple Ridge",
    "Stonebridge",
    "Elmwood",
    "Cedar Valley",
    "Bayfront",
)


def organization(src: Source, *, locale: str = "en_US") -> Pii:
    rng = src.rng
    fake = src.faker(locale if locale != "ar" else "en_US")
    r = rng.random()
    if r < 0.45:
        name = fake.company()
    elif r < 0.75:
        name = f"{fake.last_name()} {rng.choice(_ORG_TAILS)}"
    else:
        name = f"{rng.choice(_ORG_PLACES)} {rng.choice(_ORG_TAILS)}"
    return Pii("ORGANIZATION", name.strip(), "employer")
