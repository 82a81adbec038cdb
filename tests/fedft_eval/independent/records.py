"""Clinical, banking and insurance records, written as clinicians and clerks write them:
abbreviations, run-on lines, labels in many spellings; and eponymous diagnoses, signs and
procedures that must survive anonymization."""

from __future__ import annotations

from fedft_eval.independent import numbers as num
from fedft_eval.independent.corpus import Keep, Pii, fill
from fedft_eval.independent.people import Source, email_for, organization, person
from fedft_eval.independent.places import address

__all__ = ["EPONYMS", "banking_note", "clinical_note", "eponym", "eponym_term", "insurance_note"]

# (as written, the eponym words checked in the output).
EPONYMS = (
    ("Parkinson's disease", ("Parkinson",)),
    ("Hodgkin lymphoma", ("Hodgkin",)),
    ("non-Hodgkin lymphoma", ("Hodgkin",)),
    ("Crohn's disease", ("Crohn",)),
    ("Crohn's", ("Crohn",)),
    ("Down syndrome", ("Down",)),
    ("Alzheimer's dementia", ("Alzheimer",)),
    ("Alzheimer's", ("Alzheimer",)),
    ("Cushing syndrome", ("Cushing",)),
    ("Cushing's disease", ("Cushing",)),
    ("Graves' disease", ("Graves",)),
    ("Hashimoto's thyroiditis", ("Hashimoto",)),
    ("Addison's disease", ("Addison",)),
    ("Bell's palsy", ("Bell",)),
    ("Guillain-Barré syndrome", ("Guillain", "Barré")),
    ("Kaposi sarcoma", ("Kaposi",)),
    ("Raynaud's phenomenon", ("Raynaud",)),
    ("Sjögren's syndrome", ("Sjögren",)),
    ("Huntington's disease", ("Huntington",)),
    ("Wilson's disease", ("Wilson",)),
    ("Tourette syndrome", ("Tourette",)),
    ("Ménière's disease", ("Ménière",)),
    ("Barrett's esophagus", ("Barrett",)),
    ("Paget's disease of bone", ("Paget",)),
    ("Marfan syndrome", ("Marfan",)),
    ("Epstein-Barr virus", ("Epstein", "Barr")),
    ("a Foley catheter", ("Foley",)),
    ("a Whipple procedure", ("Whipple",)),
    ("Nissen fundoplication", ("Nissen",)),
    ("Cheyne-Stokes respiration", ("Cheyne", "Stokes")),
    ("Wernicke encephalopathy", ("Wernicke",)),
    ("Ehlers-Danlos syndrome", ("Ehlers", "Danlos")),
    ("Stevens-Johnson syndrome", ("Stevens", "Johnson")),
    ("Kawasaki disease", ("Kawasaki",)),
    ("Dupuytren's contracture", ("Dupuytren",)),
    ("a positive Babinski sign", ("Babinski",)),
    ("Murphy's sign", ("Murphy",)),
    ("an Apgar score of 9", ("Apgar",)),
    ("Meckel's diverticulum", ("Meckel",)),
    ("Lyme disease", ("Lyme",)),
    ("Tay-Sachs disease", ("Tay", "Sachs")),
    ("Hirschsprung disease", ("Hirschsprung",)),
)

_EPONYM_SENTENCES = (
    "Known {e}, stable on current regimen.",
    "History of {e} (dx years ago), followed by neurology.",
    "Family hx: mother had {e}.",
    "No evidence of {e} on this admission.",
    "Referred to rule out {e}.",
    "Patient asks whether {e} runs in families.",
    "{E} noted on exam.",
    "Background of {e}; also HTN, T2DM (HbA1c 7.4%).",
)


def eponym_term(src: Source) -> Keep:
    text, words = src.rng.choice(EPONYMS)
    return Keep(text, words)


def eponym(src: Source) -> list[object]:
    """A clinical sentence around one eponym that must survive."""
    text, words = src.rng.choice(EPONYMS)
    template = src.rng.choice(_EPONYM_SENTENCES)
    keep = Keep(text[0].upper() + text[1:] if "{E}" in template else text, words)
    return fill(template.replace("{E}", "{e}"), e=keep)


def _clinician(src: Source) -> Pii:
    p = person(src)
    return src.rng.choice((p.surname("dr_surname"), p.full("dr_full"), p.initial_last()))


def _portal_url(src: Source) -> Pii:
    site = src.rng.choice(("stlukes", "valleyhealth", "northshore"))
    return Pii(
        "URL", f"https://mychart.{site}.org/patient/{src.rng.randint(10**6, 10**7)}", "portal"
    )


def _intersection(src: Source) -> Pii:
    a, b = (
        src.rng.choice(("Elm", "Grant", "Fifth", "Harbor")),
        src.rng.choice(("3rd", "Main", "Pine")),
    )
    return Pii("STREET", f"{a} and {b}", "intersection")


def _claim_url(src: Source) -> Pii:
    site = src.rng.choice(("allsafe", "harborins", "meridian"))
    return Pii(
        "URL", f"https://claims.{site}.com/upload/{src.rng.randrange(16**8):08x}", "claim_portal"
    )


def clinical_note(src: Source) -> list[object]:
    rng = src.rng
    pt = person(src)
    header = rng.choice(
        (
            fill(
                "PATIENT: {n}    MRN: {m}    DOB: {dob}\n",
                n=pt.upper_last(),
                m=num.mrn(rng),
                dob=num.date(rng, birth=True),
            ),
            fill(
                "Name: {n} | Med Rec #{m} | D.O.B. {dob}\n",
                n=pt.full(),
                m=num.mrn(rng),
                dob=num.date(rng, birth=True),
            ),
            fill(
                "{n} (hosp. no. {m}), born {dob}\n",
                n=pt.full(),
                m=num.mrn(rng),
                dob=num.date(rng, birth=True),
            ),
            fill("Re: {n}, MRN {m}\n", n=pt.with_middle(dot=rng.random() < 0.5), m=num.mrn(rng)),
        )
    )
    body: list[object] = [header]
    age = num.age_over_89(rng)
    pool = [
        lambda: fill(
            "Seen on {d} with her son. {a} y/o F, lives alone, still drives. ",
            d=num.date(rng),
            a=age,
        ),
        lambda: fill(
            "{a}-year-old retired {job} admitted {d} after a fall at home. ",
            a=age,
            job=rng.choice(("teacher", "machinist", "nurse", "farmer")),
            d=num.date(rng),
        ),
        lambda: fill(
            "{t} {s} is a pleasant {a} yo referred by Dr. {c}. ",
            t=rng.choice(("Mr.", "Mrs.", "Ms.")),
            s=pt.surname("surname_title"),
            a=age,
            c=_clinician(src),
        ),
        lambda: fill(
            "Pt states {g} prefers to be called by first name. Age {a}. ",
            g=pt.given("first_name_cue"),
            a=age,
        ),
        lambda: fill(
            "Daughter {dn} (tel {ph}) is health care proxy. ",
            dn=person(src).full("relative"),
            ph=num.phone(rng),
        ),
        lambda: fill("Lives at {addr}.\n", addr=address(src, inline=True)),
        lambda: fill(
            "Insurance: {plan} (member ID {hp}). ",
            plan=rng.choice(("Medicare", "BCBS PPO", "Aetna HMO", "NHS", "Medicaid")),
            hp=num.health_plan(rng),
        ),
        lambda: fill("Pacemaker in situ, device serial {dv}. ", dv=num.device(rng)),
        lambda: fill("Insulin pump S/N {dv} replaced {d}. ", dv=num.device(rng), d=num.date(rng)),
        lambda: fill(
            "Please fax results to {f} attn {c}. ",
            f=num.phone(rng, category="FAX"),
            c=_clinician(src),
        ),
        lambda: fill("Fax: {f}\n", f=num.phone(rng, category="FAX")),
        lambda: fill("Prescriber lic. {lic}. ", lic=num.license_no(rng)),
        lambda: fill("Transferred from {org}. ", org=organization(src)),
        lambda: fill(
            "Portal: {u}\n",
            u=_portal_url(src),
        ),
        lambda: fill("Follow-up {d} with {c}. ", d=num.date(rng), c=_clinician(src)),
        lambda: fill("SSN on file {s}. ", s=num.ssn(rng)),
        lambda: ["Vitals: BP 142/88, HR 76, SpO2 96% RA, T 37.1 C. "],
        lambda: [
            "Meds: metformin 500 mg BID, lisinopril 10 mg daily, levodopa/carbidopa 25/100 TID. "
        ],
        lambda: ["A/P: continue PT/OT, recheck BMP in 2 wks. "],
    ]
    for make in rng.sample(pool, k=rng.randint(4, 7)):
        body.append(make())
    for _ in range(rng.randint(1, 3)):
        body.append(eponym(src))
        body.append(" ")
    signer = person(src)
    body.append(
        fill("\n-- {s}, MD", s=rng.choice((signer.full("signature"), signer.with_middle(dot=True))))
    )
    return body


def banking_note(src: Source) -> list[object]:
    rng = src.rng
    c = person(src)
    lines: list[object] = [
        rng.choice(
            (
                fill("Customer: {n}\n", n=c.full()),
                fill("CLIENT {n} called re: disputed charge.\n", n=c.upper_last()),
                fill("Call note – {n} ({e})\n", n=c.full(), e=email_for(src, c)),
            )
        )
    ]
    pool = [
        lambda: fill("Acct {a}. ", a=num.account(rng)),
        lambda: fill(
            "Funds to go to IBAN {a} (beneficiary: {b}). ",
            a=num.account(rng),
            b=person(src).full("beneficiary"),
        ),
        lambda: fill("Lost card {k} blocked {d}. ", k=num.card(rng), d=num.date(rng)),
        lambda: fill("card no {k}, exp 09/27. ", k=num.card(rng)),
        lambda: fill(
            "Verified identity w/ SSN {s} and DOB {d}. ",
            s=num.ssn(rng),
            d=num.date(rng, birth=True),
        ),
        lambda: fill("ID checked: {i}. ", i=num.national_id(rng)),
        lambda: fill(
            "Employer on application: {o}, {yrs} yrs, salary 58k. ",
            o=organization(src, locale=c.locale),
            yrs=str(rng.randint(1, 25)),
        ),
        lambda: fill(
            "Works at {o} as {job}. ",
            o=organization(src),
            job=rng.choice(("a welder", "payroll clerk", "the only pharmacist", "head chef")),
        ),
        lambda: fill("Mailing address changed to:\n{addr}\n", addr=address(src)),
        lambda: fill("Login from IP {ip} flagged (new device). ", ip=num.ip(rng)),
        lambda: fill("Callback no. {p}. ", p=num.phone(rng)),
        lambda: fill(
            "Joint holder {j} present. ", j=person(src).with_middle(dot=rng.random() < 0.5)
        ),
        lambda: fill("Loan ref {a} overdue since {d}. ", a=num.account(rng), d=num.date(rng)),
        lambda: ["Balance $3,412.07; overdraft limit $500. Rate 19.9% APR. "],
        lambda: ["Advised of 5-day hold. Case escalated to tier 2. "],
    ]
    for make in rng.sample(pool, k=rng.randint(4, 6)):
        lines.append(make())
    lines.append(fill("\nAgent: {a}", a=person(src, locale="en_US").given("agent_first_name")))
    return lines


def insurance_note(src: Source) -> list[object]:
    rng = src.rng
    p = person(src)
    parts: list[object] = [
        fill(
            "Claim {cl} – insured {n}, policy {hp}\n",
            cl=num.other_id(rng)[1],
            n=p.full(),
            hp=num.health_plan(rng),
        ),
    ]
    pool = [
        lambda: fill(
            "Vehicle: 2016 Honda Civic, VIN {v}, plate {pl}. ",
            v=num.vehicle(rng),
            pl=num.vehicle(rng),
        ),
        lambda: fill(
            "Other driver {o} (DL {l}) ran the light at {st}. ",
            o=person(src).full("other_party"),
            l=num.license_no(rng),
            st=_intersection(src),
        ),
        lambda: fill("Incident date {d}. ", d=num.date(rng)),
        lambda: fill("Insured reachable at {ph} or {e}. ", ph=num.phone(rng), e=email_for(src, p)),
        lambda: fill("Garage: {o}, invoice attached. ", o=organization(src)),
        lambda: fill(
            "Dashcam upload {u}\n",
            u=_claim_url(src),
        ),
        lambda: fill(
            "Witness {w} lives at {addr}. ",
            w=person(src).full("witness"),
            addr=address(src, inline=True),
        ),
        lambda: ["Estimate $2,840 parts, $960 labour. Deductible $500. "],
    ]
    for make in rng.sample(pool, k=rng.randint(3, 6)):
        parts.append(make())
    return parts
