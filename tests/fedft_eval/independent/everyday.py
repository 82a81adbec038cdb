"""Everyday text: product reviews, letters, order and shipping forms, chat logs, forum posts,
support tickets and HR e-mails. Names turn up where people put them: in a sign-off, after
"my name is", as a speaker label, as a bare surname in a list, lower-cased in chat."""

from __future__ import annotations

import random

from fedft_eval.independent import numbers as num
from fedft_eval.independent.corpus import Pii, fill
from fedft_eval.independent.people import Source, email_for, organization, person, personal_url
from fedft_eval.independent.places import address, postcode
from fedft_eval.independent.records import eponym_term

__all__ = ["chat", "forum_post", "hr_email", "letter", "review", "shipping_form", "support_ticket"]


def review(src: Source) -> list[object]:
    rng = src.rng
    p = person(src)
    opening = rng.choice(
        (
            fill(
                "Ordered the {item} for my dad's 80th and it arrived a day early. ",
                item=rng.choice(("kettle", "reading lamp", "rain jacket", "blender")),
            ),
            ["Honestly the worst customer service I've had in years. "],
            ["Five stars. Fits perfectly, washes well, no shrinking. "],
            ["Bought two of these, one broke within a week. "],
        )
    )
    pool = [
        lambda: fill(
            "{s} from the returns desk was lovely and sorted it in ten minutes. ",
            s=person(src).given("staff_first_name"),
        ),
        lambda: fill("Order {o} still says 'processing'. ", o=num.other_id(rng)[1]),
        lambda: fill(
            "They shipped it to my old place in {c} instead of the new one. ",
            c=Pii(
                "CITY",
                src.faker(rng.choice(("en_US", "de_DE", "fr_FR", "es_ES"))).city(),
                "free_text",
            ),
        ),
        lambda: fill(
            "If anyone from the company reads this, email me at {e}. ", e=email_for(src, p)
        ),
        lambda: fill(
            "The courier ({c}) left it at number {n} next door. ",
            c=organization(src),
            n=str(rng.randint(2, 80)),
        ),
        lambda: fill(
            "My wife {w} says it's too loud, I think it's fine. ",
            w=person(src).given("relative_first_name"),
        ),
        lambda: ["Would buy again if the price drops. "],
        lambda: ["Packaging was mostly cardboard, which I appreciate. "],
    ]
    body: list[object] = [opening]
    for make in rng.sample(pool, k=rng.randint(2, 4)):
        body.append(make())
    sign = rng.choice(
        (
            lambda: fill(
                "\n— {n}, {c}",
                n=p.full("signoff"),
                c=Pii(
                    "CITY",
                    src.faker(
                        p.locale if p.locale not in ("ar", "zh_CN", "ja_JP", "it_IT") else "en_GB"
                    ).city(),
                    "signoff",
                ),
            ),
            lambda: fill("\n{n}", n=p.initial_last()),
            lambda: fill("\nReviewed by {n} on {d}", n=p.full("signoff"), d=num.date(rng)),
        )
    )
    body.append(sign())
    return body


def letter(src: Source) -> list[object]:
    rng = src.rng
    sender, addressee = person(src), person(src)
    title = rng.choice(("Mr.", "Ms.", "Mrs.", "Dr.", "Prof."))
    parts: list[object] = [
        fill("{n}\n{a}\n\n", n=sender.full("letterhead"), a=address(src)),
        fill("{d}\n\n", d=num.date(rng)),
        fill(
            "{t} {n}\n{o}\n{a}\n\n",
            t=title,
            n=addressee.full("recipient"),
            o=organization(src),
            a=address(src),
        ),
        fill("Dear {t} {s},\n\n", t=title, s=addressee.surname("salutation")),
    ]
    pool = [
        lambda: fill(
            "I am writing about the invoice dated {d}, which I believe was sent in error. ",
            d=num.date(rng),
        ),
        lambda: fill(
            "As discussed with your colleague {c} on the phone, ", c=person(src).full("colleague")
        ),
        lambda: fill(
            "my account number is {a} and the reference you gave me was {r}. ",
            a=num.account(rng),
            r=num.other_id(rng)[1],
        ),
        lambda: fill(
            "You can reach me on {p} during the day, or fax {f}. ",
            p=num.phone(rng),
            f=num.phone(rng, category="FAX"),
        ),
        lambda: _quote_reference(rng),
        lambda: ["I would be grateful for a reply within fourteen days. "],
        lambda: fill(
            "My late mother, {m}, held the account until {d}. ",
            m=person(src).with_middle(dot=True),
            d=num.date(rng),
        ),
    ]
    for make in rng.sample(pool, k=rng.randint(2, 4)):
        parts.append(make())
    closing = rng.choice(
        ("Yours sincerely", "Kind regards", "With best wishes", "Yours faithfully")
    )
    signature = rng.choice(
        (
            sender.full("signature"),
            sender.with_middle(dot=rng.random() < 0.5),
            sender.initial_last(),
        )
    )
    parts.append(fill("\n\n{c},\n\n{s}", c=closing, s=signature))
    return parts


def _quote_reference(rng: random.Random) -> list[object]:
    label, value = num.other_id(rng)
    return fill("Please quote my {lab} {v} in any reply. ", lab=label, v=value)


def shipping_form(src: Source) -> list[object]:
    rng = src.rng
    p = person(src)
    inline = rng.random() < 0.3
    label_sep = ", " if inline else "\n"
    parts: list[object] = [
        fill("Order {o} | placed {d}\n", o=num.other_id(rng)[1], d=num.date(rng)),
        fill(
            "{lbl}:{sep}{n}{a}\n",
            lbl=rng.choice(("Ship to", "SHIPPING ADDRESS", "Deliver to", "Billing address")),
            sep=label_sep if not inline else " ",
            n=p.full("form"),
            a=[", " if inline else "\n", address(src, inline=inline)],
        ),
    ]
    phones = [
        fill(
            "{p}{tag}",
            p=num.phone(rng),
            tag=rng.choice(("-Office", " (mobile)", "-Home", " cell", "")),
        )
        for _ in range(rng.randint(1, 3))
    ]
    joined: list[object] = []
    for i, ph in enumerate(phones):
        joined.extend(([", "] if i else []) + ph)
    parts.append(fill("Phone: {p}\n", p=joined))
    pool = [
        lambda: fill("Email: {e}\n", e=email_for(src, p)),
        lambda: _postcode_line(src),
        lambda: fill(
            "Gift message: Happy birthday {g}! Love, {h}\n",
            g=person(src).given("gift_first_name"),
            h=person(src).given("gift_first_name"),
        ),
        lambda: fill("Paid with card {k}\n", k=num.card(rng)),
        lambda: fill("Company: {o}\n", o=organization(src, locale=p.locale)),
        lambda: ["Items: 2 x USB-C cable (1 m), 1 x HDMI adapter\nShipping: Standard (3-5 days)\n"],
    ]
    for make in rng.sample(pool, k=rng.randint(2, 4)):
        parts.append(make())
    return parts


def _postcode_line(src: Source) -> list[object]:
    code = postcode(src)
    label = (
        "ZIP"
        if code.style.startswith("zip")
        else src.rng.choice(("Postcode", "Postal code", "PLZ", "Post code"))
    )
    return fill("{lbl}: {z}\n", lbl=label, z=code)


def chat(src: Source) -> list[object]:
    rng = src.rng
    a, b = person(src), person(src)
    sa, sb = a.given("speaker_label"), b.given("speaker_label")
    lines = [
        lambda: fill(
            "{s}: hi! my name is {n}, i ordered a sofa last week\n", s=sa, n=a.given("my_name_is")
        ),
        lambda: fill("{s}: What a week.\n", s=sb),
        lambda: fill("{s}: my zip code is {z}, can you check delivery?\n", s=sa, z=postcode(src)),
        lambda: fill("{s}: it's {z} I think\n", s=sa, z=postcode(src)),
        lambda: fill("{s}: you can call me on {p}\n", s=sa, p=num.phone(rng)),
        lambda: fill(
            "{s}: ok {n}, I'll pass this to {m}\n",
            s=sb,
            n=a.given("first_name_address"),
            m=person(src).surname("surname_bare"),
        ),
        lambda: fill(
            "{s}: thanks. this is {n} btw, {a}'s sister\n",
            s=sa,
            n=a.lower(),
            a=person(src).given("possessive"),
        ),
        lambda: fill(
            "{s}: I was born {d}, if you need it for the form\n", s=sa, d=num.date(rng, birth=True)
        ),
        lambda: fill("{s}: send it to {addr} please\n", s=sa, addr=address(src, inline=True)),
        lambda: fill("{s}: can't log in, my IP is {ip} apparently\n", s=sa, ip=num.ip(rng)),
        lambda: fill("{s}: lol same\n", s=sb),
    ]
    out: list[object] = []
    for make in rng.sample(lines, k=rng.randint(3, 6)):
        out.append(make())
    return out


def forum_post(src: Source) -> list[object]:
    rng = src.rng
    f1, f2, f3 = person(src), person(src), person(src)
    pool = [
        lambda: fill(
            "Our 3 founders: {a}, {b} and {c} met at uni. ",
            a=f1.full("list"),
            b=f2.full("list"),
            c=f3.surname("surname_list"),
        ),
        lambda: fill(
            "Went to a {n} concert last night, still buzzing. ",
            n=person(src).with_middle(dot=False),
        ),
        lambda: fill(
            "{a} and {b} were precision engineers before the war. ",
            a=f1.surname("surname_subject"),
            b=f2.surname("surname_subject"),
        ),
        lambda: fill("Thanks to {n} for the tip about the ferry. ", n=f3.full("thanks")),
        lambda: fill(
            "I live just off {st} in {c}, so it's walkable. ",
            st=Pii(
                "STREET",
                f"{src.faker('en_GB').last_name()} {rng.choice(('Road', 'Lane', 'Street'))}",
                "free_text",
            ),
            c=Pii(
                "CITY",
                rng.choice(("Leeds", "Dundee", "Galway", "Utrecht", "Tampere", "Brno", "Graz")),
                "free_text",
            ),
        ),
        lambda: fill(
            "My grandmother is {a} and still does the crossword in pen. ", a=num.age_over_89(rng)
        ),
        lambda: fill("Pics here: {u} ", u=personal_url(src, f1)),
        lambda: fill("Posted from {ip}, admins pls ban the spammer. ", ip=num.ip(rng)),
        lambda: fill(
            "{n} ({e}) organises the swap meet on {d}. ",
            n=f2.full(),
            e=email_for(src, f2),
            d=num.date(rng),
        ),
        lambda: fill(
            "{h} works at {o} now, lucky thing. ",
            h=f1.given("first_name_subject"),
            o=organization(src),
        ),
        lambda: fill(
            "My dad was diagnosed with {e} in spring; this forum has been a lifeline. ",
            e=eponym_term(src),
        ),
        lambda: fill("Does anyone know a good specialist for {e}? ", e=eponym_term(src)),
        lambda: ["Anyone else find the new update slower? Mine takes 40 s to boot. "],
        lambda: ["Edit: fixed it, was a loose cable. "],
    ]
    return [make() for make in rng.sample(pool, k=rng.randint(3, 5))]


def support_ticket(src: Source) -> list[object]:
    rng = src.rng
    p = person(src)
    parts: list[object] = [
        fill(
            "Ticket #{t} opened by {n} <{e}>\n",
            t=str(rng.randint(10000, 99999)),
            n=p.full("ticket"),
            e=email_for(src, p),
        )
    ]
    pool = [
        lambda: fill("Laptop serial {s} won't charge. ", s=num.device(rng)),
        lambda: fill("Phone IMEI/serial: {s}. ", s=num.device(rng)),
        lambda: fill("Last seen from {ip} at 09:14. ", ip=num.ip(rng)),
        lambda: fill("User profile: {u}\n", u=personal_url(src, p)),
        lambda: fill("Callback {p}. ", p=num.phone(rng)),
        lambda: fill(
            "Employee ID {i}, dept. Finance, {o}. ",
            i=Pii("OTHER_ID", f"E{rng.randint(10000, 99999)}", "employee_ticket"),
            o=organization(src),
        ),
        lambda: fill("Company car reg {v} needs a parking permit. ", v=num.vehicle(rng)),
        lambda: ["Tried restarting, clearing cache, reinstalling driver v2.31.0. "],
    ]
    for make in rng.sample(pool, k=rng.randint(3, 5)):
        parts.append(make())
    parts.append(fill("\nAssigned: {a}", a=person(src).initial_last()))
    return parts


def hr_email(src: Source) -> list[object]:
    rng = src.rng
    emp, mgr = person(src), person(src)
    parts: list[object] = [fill("Hi {m},\n\n", m=mgr.given("greeting"))]
    pool = [
        lambda: fill(
            "{e} starts on {d} as our new site manager. ", e=emp.full("new_hire"), d=num.date(rng)
        ),
        lambda: fill("Her previous employer was {o}. ", o=organization(src, locale=emp.locale)),
        lambda: fill("Home address for payroll: {a}\n", a=address(src)),
        lambda: fill("Bank details: {a}. ", a=num.account(rng)),
        lambda: fill("Tax/SSN: {s}. ", s=rng.choice((num.ssn(rng), num.national_id(rng)))),
        lambda: fill("Driving licence {l} checked. ", l=num.license_no(rng)),
        lambda: fill(
            "Emergency contact {c}, {p}. ",
            c=person(src).full("emergency_contact"),
            p=num.phone(rng),
        ),
        lambda: fill(
            "{s} will buddy with her for the first month. ",
            s=person(src).surname("surname_subject"),
        ),
        lambda: ["Contract is 37.5 h/week, probation 6 months. "],
    ]
    for make in rng.sample(pool, k=rng.randint(3, 6)):
        parts.append(make())
    parts.append(fill("\n\nThanks,\n{s}", s=person(src).given("signoff_first_name")))
    return parts
