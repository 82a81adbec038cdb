"""Eponymous diagnoses, signs, scales, devices and common brand-name drugs: words NER takes
for people ("Parkinson's disease", "Hodgkin lymphoma", "Glasgow Coma Scale", "Eliquis") that
identify no one and carry the clinical meaning of a note.

`eponym_ranges` gives where they occur; detections lying entirely inside one are dropped,
like a policy's allow list. An eponym counts only in a clinical form — followed by a head
noun ("disease", "syndrome", "sign", ...), in the possessive for the few used alone
("Crohn's", "Alzheimer's"), or "tetralogy of Fallot" — so "Mr. Parkinson" or "Dr. Graves"
are still names. The lists are hand-written from common clinical usage (no external source).
"""

from __future__ import annotations

from functools import lru_cache

import regex

__all__ = ["EPONYMS", "eponym_ranges"]

EPONYMS = frozenset(
    """
    addison adie alport alzheimer apert apgar arnold asperger babinski baker barlow barrett
    bartholin bartter basedow batten becker beckwith behcet behçet bell berger bernard bowen
    brown brugada budd burkitt buerger caplan charcot chiari christmas conn cooley crigler
    creutzfeldt crohn cushing dandy darier dequervain down devic diamond dressler dubin duchenne
    dupuytren edwards ehlers eisenmenger epstein erb ewing fabry fallot fanconi felty fisher
    foley fournier friedreich gaucher gehrig gilbert gilles glasgow goodpasture graves guillain
    barre barré hansen hartnup hashimoto hirschsprung hodgkin holmes homans horner hunter
    huntington hurler jakob kallmann kaposi kawasaki kearns kernig klinefelter korsakoff
    krabbe kussmaul lambert landau legg lesch letterer liddle lou lyme mallory marfan mccune
    meckel meige meniere ménière merkel moyamoya munchausen murphy niemann noonan ogilvie
    osgood osler paget parkinson perthes peyronie pick pompe pott prader raynaud refsum reiter
    rett reye riedel romberg rotor sachs schlatter schwann sheehan shy sjogren sjögren
    stargardt stevens stokes sturge swan ganz takayasu tay tietze tourette treacher
    trousseau turner usher virchow waldenstrom waldenström wallenberg warthin weber
    wegener wernicke whipple willebrand wilms wilson wiskott wolff zellweger zenker zollinger
    ellison johnson barr schönlein schonlein henoch dravet lennox gastaut brugada cheyne
    nissen
    """.split()
)
# Eponyms a note names alone, as the disease ("a flare of Crohn's", "early Alzheimer's").
_ALONE = (
    "addison alzheimer asperger barrett crohn cushing graves hashimoto hodgkin huntington "
    "meniere ménière paget parkinson raynaud sjogren sjögren tourette wilson"
).split()
_HEAD = (
    r"(?:disease|syndrome|syndromes|disorder|lymphoma|sarcoma|tumou?r|carcinoma|palsy|"
    r"phenomenon|thyroiditis|o?esophagus|contracture|cyst|sign|signs|score|scale|catheter|"
    r"virus|test|reflex|maneuver|manoeuvre|procedure|operation|fracture|ulcer|anomaly|"
    r"an(?:a)?emia|encephalopathy|dementia|ataxia|dystrophy|chorea|classification|criteria|"
    r"node|cells?|bod(?:y|ies)|triad|murmur|hernia|neuroma|neuralgia|aneurysm|arteritis|"
    r"diverticulum|purpura|gangrene|granulomatosis|respiration|breathing|fundoplication)"
)
# Brand-name drugs NER often takes for people or organizations.
DRUG_BRANDS = frozenset(
    """
    advil aleve ambien augmentin benadryl brilinta cialis claritin coumadin crestor cymbalta
    diflucan eliquis entresto flomax glucophage humalog humira januvia jardiance keppra
    keytruda klonopin lantus lasix levaquin lexapro lipitor lovenox lyrica motrin neurontin
    nexium norco novolog ozempic paxil plavix pradaxa prilosec prozac seroquel singulair
    synthroid tylenol valium ventolin viagra vicodin wellbutrin xanax xarelto zithromax
    zocor zoloft zyrtec
    """.split()
)
_NAME = r"(?-i:\p{Lu})[\p{L}'’]*"


@lru_cache(maxsize=1)
def _pattern() -> regex.Pattern:
    names = "|".join(sorted(map(regex.escape, EPONYMS), key=len, reverse=True))
    alone = "|".join(sorted(map(regex.escape, _ALONE), key=len, reverse=True))
    drugs = "|".join(sorted(map(regex.escape, DRUG_BRANDS), key=len, reverse=True))
    eponym = rf"(?:{names})(?:['’]s|s['’]|['’])?"
    # "Lou Gehrig's", "Guillain-Barré", "Creutzfeldt-Jakob", "Stevens Johnson": up to three
    # eponyms joined by "-" or " ", at least one from the list.
    # "non-Hodgkin lymphoma": the prefix belongs to the term (NER takes "non-Hodgkin" whole).
    chain = rf"(?:non-)?(?:(?:von|van|de|du)\s+)?(?:{_NAME}[- ])?{eponym}(?:[- ]{_NAME}){{0,2}}"
    # "Dr. Graves' test results", "Mr. Murphy's sign-off": after an honorific it is a person.
    return regex.compile(
        rf"(?<![\p{{L}}\d])(?<!\b(?:mr|mrs|ms|miss|mx|dr|prof)\.?\s+)(?:{chain}\s+{_HEAD}"
        rf"|(?:{alone})(?:['’]s|s['’]|['’])(?!\s+(?:wife|husband|son|daughter|mother|father|"
        rf"family|house|home|office|car|partner))"
        rf"|tetralogy\s+of\s+fallot|(?:{drugs}))(?![\p{{L}}\d])",
        flags=regex.IGNORECASE,
    )


def eponym_ranges(text: str) -> list[tuple[int, int]]:
    """[start, end) of every eponymous clinical term and brand-name drug in `text`."""
    return [(m.start(), m.end()) for m in _pattern().finditer(text)]
