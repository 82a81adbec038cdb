"""A small hand-written development set for the failure classes of issue 19.

Each case is one text, the identifying values planted in it (by Safe Harbor-style class) and
the terms that must survive (eponymous diagnoses, drugs, clinical values). Written to tune the
recognizers, so it is NOT an honest measure of them: the independent corpus is (kept apart,
written by someone who has not read the recognizers). Values are invented.

Classes: PERSON, ADDRESS (street, city and other address parts), POSTAL (postal codes),
PHONE, FAX, AGE (over 89), LICENSE (certificate / licence numbers), VEHICLE (VINs, plates),
DEVICE (device serials), ORG (employers; scored only where ORGANIZATION is switched on).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEV_CASES", "EPONYM_CASES", "PRECISION_CASES", "DevCase"]


@dataclass(frozen=True)
class DevCase:
    text: str
    planted: tuple[tuple[str, str], ...] = ()  # (class, value); value occurs in text
    keep: tuple[str, ...] = ()  # must survive


def _c(text: str, *planted: tuple[str, str], keep: tuple[str, ...] = ()) -> DevCase:
    for _, value in planted:
        assert value in text, value
    for term in keep:
        assert term in text, term
    return DevCase(text, tuple(planted), keep)


DEV_CASES: tuple[DevCase, ...] = (
    # -- names in free context ---------------------------------------------------------------
    _c("Hello, my name is Siiri and I need help with my order.", ("PERSON", "Siiri")),
    _c("My name's Oksana Dubrovina, I called yesterday.", ("PERSON", "Oksana Dubrovina")),
    _c("Hi, I am Tadeusz from the billing team.", ("PERSON", "Tadeusz")),
    _c("This is Mbali Ndlovu calling about the refund.", ("PERSON", "Mbali Ndlovu")),
    _c(
        "We have 3 founders: Chen Wei, Amara Okafor and Vasquez.",
        ("PERSON", "Chen Wei"),
        ("PERSON", "Amara Okafor"),
        ("PERSON", "Vasquez"),
    ),
    _c("We went to a Ravil G Yefimov concert last week.", ("PERSON", "Ravil G Yefimov")),
    _c(
        "Marrero and Kowalczyk were precision engineers at the plant.",
        ("PERSON", "Marrero"),
        ("PERSON", "Kowalczyk"),
    ),
    _c("Ubul: What a wife.\nTeodora: She is lovely.", ("PERSON", "Ubul"), ("PERSON", "Teodora")),
    _c("Signed, Henrike J. Albrecht", ("PERSON", "Henrike J. Albrecht")),
    _c("Please forward this to Juan Carlos Etxeberria.", ("PERSON", "Juan Carlos Etxeberria")),
    _c("Thanks to Nguyen Thi Lan for the quick reply!", ("PERSON", "Nguyen Thi Lan")),
    _c("Call me Beatriz if you have questions.", ("PERSON", "Beatriz")),
    _c("Regards,\nSvetlana Ivanova", ("PERSON", "Svetlana Ivanova")),
    _c(
        "The patient, Aigerim Bekova, was seen with Parkinson's disease.",
        ("PERSON", "Aigerim Bekova"),
        keep=("Parkinson's disease",),
    ),
    # -- names placed by a role, a greeting, a dialogue or a sentence (after issue 19's first
    # pass; names and phrasings invented here, none taken from the independent corpus) -------
    _c("Case closed, refund issued.\nAgent: Marisol", ("PERSON", "Marisol")),
    _c("Transfer to IBAN 1234 (beneficiary: Tomasz Wrona).", ("PERSON", "Tomasz Wrona")),
    _c("Please send the scans, attn Okonkwo.", ("PERSON", "Okonkwo")),
    _c("Reviewed by Ingrid Solberg on 3 May.", ("PERSON", "Ingrid Solberg")),
    _c("Deliver to:\nHamid Rostami\n12 Quay Road", ("PERSON", "Hamid Rostami")),
    _c("Happy birthday Linnea! Love, Grace", ("PERSON", "Linnea"), ("PERSON", "Grace")),
    _c("See you Monday.\n\nThanks,\nDawn", ("PERSON", "Dawn")),
    _c("Hi Christian,\nyour parcel is here.", ("PERSON", "Christian")),
    _c(
        "Mirela: hi there\nJoy: hello, how can I help?\nMirela: my parcel is late\nJoy: checking",
        ("PERSON", "Mirela"),
        ("PERSON", "Joy"),
    ),
    _c("Stable, discharged home.\n-- Tobias K. Lindqvist, MD", ("PERSON", "Tobias K. Lindqvist")),
    _c("Noted.\nGrace Holt, RN", ("PERSON", "Grace Holt")),
    _c("Night shift is covered. Szymczak will call you back.", ("PERSON", "Szymczak")),
    _c("Sorry for the wait. Ottavio from the billing office phoned back.", ("PERSON", "Ottavio")),
    _c(
        "Brodeur and Kaminski were on call that night.",
        ("PERSON", "Brodeur"),
        ("PERSON", "Kaminski"),
    ),
    _c("I will pass the file to Okafor.", ("PERSON", "Okafor")),
    _c("Follow-up in two weeks with Lindqvist.", ("PERSON", "Lindqvist")),
    _c("She is Mateo's sister and lives nearby.", ("PERSON", "Mateo")),
    _c("Seen today. Paulina R. Zawadzka reviewed the chart.", ("PERSON", "Paulina R. Zawadzka")),
    # -- street addresses, international, multi-line -----------------------------------------
    _c(
        "Ship to:\nPuruntie 82 Apt. 595\nSK\n53650",
        ("ADDRESS", "Puruntie 82 Apt. 595"),
        ("POSTAL", "53650"),
    ),
    _c(
        "Via Franscini 71 Suite 838\nTujetsch\n7188",
        ("ADDRESS", "Via Franscini 71 Suite 838"),
        ("ADDRESS", "Tujetsch"),
        ("POSTAL", "7188"),
    ),
    _c(
        "Mellemvej 32\nAalborg NO 9100",
        ("ADDRESS", "Mellemvej 32"),
        ("ADDRESS", "Aalborg"),
        ("POSTAL", "9100"),
    ),
    _c("PSC 0413, Box 8144\nAPO AA 42323", ("ADDRESS", "PSC 0413, Box 8144"), ("POSTAL", "42323")),
    _c("USNS Harrington\nFPO AE 09876", ("ADDRESS", "USNS Harrington"), ("POSTAL", "09876")),
    _c(
        "Our office: Király u. 15, 1061 Budapest.",
        ("ADDRESS", "Király u. 15"),
        ("POSTAL", "1061"),
        ("ADDRESS", "Budapest"),
    ),
    _c(
        "Lives at Hauptstraße 12, 10115 Berlin.",
        ("ADDRESS", "Hauptstraße 12"),
        ("POSTAL", "10115"),
        ("ADDRESS", "Berlin"),
    ),
    _c(
        "Address: 14 rue de la Paix, 75002 Paris",
        ("ADDRESS", "14 rue de la Paix"),
        ("POSTAL", "75002"),
        ("ADDRESS", "Paris"),
    ),
    _c(
        "Send it to Keizersgracht 221, 1016 DV Amsterdam.",
        ("ADDRESS", "Keizersgracht 221"),
        ("POSTAL", "1016 DV"),
        ("ADDRESS", "Amsterdam"),
    ),
    _c(
        "Storgatan 5B, 394 13 Kalmar",
        ("ADDRESS", "Storgatan 5B"),
        ("POSTAL", "394 13"),
        ("ADDRESS", "Kalmar"),
    ),
    _c(
        "221B Baker Street, London NW1 6XE",
        ("ADDRESS", "221B Baker Street"),
        ("ADDRESS", "London"),
        ("POSTAL", "NW1 6XE"),
    ),
    _c(
        "4523 Oak Hollow Rd Unit 7, Springfield, IL 62704-1234",
        ("ADDRESS", "4523 Oak Hollow Rd Unit 7"),
        ("ADDRESS", "Springfield"),
        ("POSTAL", "62704-1234"),
    ),
    _c(
        "Calle Mayor 45, 3º B, 28013 Madrid",
        ("ADDRESS", "Calle Mayor 45"),
        ("POSTAL", "28013"),
        ("ADDRESS", "Madrid"),
    ),
    _c(
        "1200 Rue Sherbrooke O, Montréal, QC H3A 1G1",
        ("ADDRESS", "1200 Rue Sherbrooke O"),
        ("ADDRESS", "Montréal"),
        ("POSTAL", "H3A 1G1"),
    ),
    _c(
        "P.O. Box 4471, Anchorage, AK 99509",
        ("ADDRESS", "P.O. Box 4471"),
        ("ADDRESS", "Anchorage"),
        ("POSTAL", "99509"),
    ),
    _c(
        "88 Kingsway Apt 12\nVancouver BC V5T 3J7",
        ("ADDRESS", "88 Kingsway Apt 12"),
        ("ADDRESS", "Vancouver"),
        ("POSTAL", "V5T 3J7"),
    ),
    _c(
        "Flat 3, 17 Albion Road, Leeds LS6 1AB",
        ("ADDRESS", "Flat 3, 17 Albion Road"),
        ("ADDRESS", "Leeds"),
        ("POSTAL", "LS6 1AB"),
    ),
    _c("She lives in Tujetsch with her dog.", ("ADDRESS", "Tujetsch")),
    _c(
        "I'm from Kalmar originally, moved to Östersund in May.",
        ("ADDRESS", "Kalmar"),
        ("ADDRESS", "Östersund"),
    ),
    _c(
        "Flat 12, 3 Smith Street, SYDNEY NSW 2000",
        ("ADDRESS", "3 Smith Street"),
        ("ADDRESS", "SYDNEY"),
        ("POSTAL", "2000"),
    ),
    _c(
        "Rua Augusta, 1500, 01304-001 São Paulo",
        ("ADDRESS", "Rua Augusta, 1500"),
        ("POSTAL", "01304-001"),
        ("ADDRESS", "São Paulo"),
    ),
    _c(
        "ul. Długa 5, 00-950 Warszawa",
        ("ADDRESS", "ul. Długa 5"),
        ("POSTAL", "00-950"),
        ("ADDRESS", "Warszawa"),
    ),
    _c(
        "Mannerheimintie 12 B 5\n00100 Helsinki",
        ("ADDRESS", "Mannerheimintie 12 B 5"),
        ("POSTAL", "00100"),
        ("ADDRESS", "Helsinki"),
    ),
    _c("Andrássy út 22.\nBudapest\n1061", ("ADDRESS", "Andrássy út 22"), ("POSTAL", "1061")),
    _c(
        "Bill to: Franscini 71 Suite 838, Lugano",
        ("ADDRESS", "Franscini 71 Suite 838"),
        ("ADDRESS", "Lugano"),
    ),
    _c(
        "Tuinen 12\n1234 AB Dorpsveld",
        ("ADDRESS", "Tuinen 12"),
        ("POSTAL", "1234 AB"),
        ("ADDRESS", "Dorpsveld"),
    ),
    _c("Billing: Lake Jennifer, NJ 07302", ("ADDRESS", "Lake Jennifer"), ("POSTAL", "07302")),
    # -- postal codes with context words ------------------------------------------------------
    _c("ZIP: 3520", ("POSTAL", "3520")),
    _c("my zip code is 35350 but the card says otherwise", ("POSTAL", "35350")),
    _c("Postcode SW1A 2AA, please.", ("POSTAL", "SW1A 2AA")),
    _c("postal code 394 13", ("POSTAL", "394 13")),
    _c("The ZIP+4 is 20500-0003.", ("POSTAL", "20500-0003")),
    _c("PLZ 80331 München", ("POSTAL", "80331"), ("ADDRESS", "München")),
    # -- phones, faxes ------------------------------------------------------------------------
    _c(
        "Contacts: (37) 788-063-Office, 082 490 1693-Office",
        ("PHONE", "(37) 788-063"),
        ("PHONE", "082 490 1693"),
    ),
    _c("Fax: 212-555-0147", ("FAX", "212-555-0147")),
    _c("fax no. +44 20 7946 0958", ("FAX", "+44 20 7946 0958")),
    _c("Please fax the form to (617) 555-0199.", ("FAX", "(617) 555-0199")),
    # -- ages over 89 -------------------------------------------------------------------------
    _c(
        "A 93-year-old woman with Alzheimer's disease.",
        ("AGE", "93"),
        keep=("Alzheimer's disease",),
    ),
    _c("Patient is 101 years old.", ("AGE", "101")),
    _c("Age: 96", ("AGE", "96")),
    _c("She is aged 91 and lives alone.", ("AGE", "91")),
    _c("He turned 90 last month.", ("AGE", "90")),
    # -- licences, vehicles, devices ----------------------------------------------------------
    _c("Driver's licence no. D123-4567-8901", ("LICENSE", "D123-4567-8901")),
    _c("Nursing license RN 2214783 (Ohio)", ("LICENSE", "RN 2214783")),
    _c("DEA number AB1234563 on file.", ("LICENSE", "AB1234563")),
    _c("Certificate No. CERT-88120-QX", ("LICENSE", "CERT-88120-QX")),
    _c("VIN 1HGCM82633A004352, a 2003 sedan.", ("VEHICLE", "1HGCM82633A004352")),
    _c("Vehicle: WVWZZZ1JZXW000001", ("VEHICLE", "WVWZZZ1JZXW000001")),
    _c("His car, licence plate KA-MN 4521, was towed.", ("VEHICLE", "KA-MN 4521")),
    _c("License plate: 7ABC123", ("VEHICLE", "7ABC123")),
    _c("Pacemaker serial number PJN412233H.", ("DEVICE", "PJN412233H")),
    _c("Insulin pump S/N: MMT-1780-00412", ("DEVICE", "MMT-1780-00412")),
    _c("Device ID 3F9A-22C1-7B0E", ("DEVICE", "3F9A-22C1-7B0E")),
    # -- employers (ORGANIZATION, opt-in) -----------------------------------------------------
    _c("She works at Helsingin Puhelin Oy as a clerk.", ("ORG", "Helsingin Puhelin Oy")),
    _c("Employed by Acme Widgets Inc. since 2019.", ("ORG", "Acme Widgets Inc.")),
)

# Eponymous diagnoses, scales and drugs: none of them identifies anyone.
EPONYM_CASES: tuple[DevCase, ...] = tuple(
    _c(text, keep=(term,))
    for text, term in (
        ("Known Parkinson's disease, on levodopa.", "Parkinson's disease"),
        ("History of Hodgkin lymphoma, in remission.", "Hodgkin lymphoma"),
        ("Treated for non-Hodgkin lymphoma in 2015.", "non-Hodgkin lymphoma"),
        ("Cheyne-Stokes respiration overnight.", "Cheyne-Stokes respiration"),
        ("Laparoscopic Nissen fundoplication in 2019.", "Nissen fundoplication"),
        ("Crohn's flare last spring.", "Crohn's"),
        ("Child with Down syndrome, reviewed today.", "Down syndrome"),
        ("Early Alzheimer's noted by family.", "Alzheimer's"),
        ("Work-up for Cushing syndrome started.", "Cushing syndrome"),
        ("Graves' disease treated with radioiodine.", "Graves' disease"),
        ("Hashimoto's thyroiditis, on levothyroxine.", "Hashimoto's thyroiditis"),
        ("Addison's disease, on hydrocortisone.", "Addison's disease"),
        ("Bell's palsy on the left side.", "Bell's palsy"),
        ("Diagnosed with Huntington's disease in 2010.", "Huntington's disease"),
        ("Raynaud's phenomenon in cold weather.", "Raynaud's phenomenon"),
        ("Sjögren's syndrome with dry eyes.", "Sjögren's syndrome"),
        ("Guillain-Barré syndrome after infection.", "Guillain-Barré syndrome"),
        ("Kaposi sarcoma lesions on the leg.", "Kaposi sarcoma"),
        ("Tourette syndrome since childhood.", "Tourette syndrome"),
        ("Asperger syndrome per school report.", "Asperger syndrome"),
        ("Barrett's esophagus on endoscopy.", "Barrett's esophagus"),
        ("Meniere's disease with vertigo.", "Meniere's disease"),
        ("Wilson's disease, copper studies pending.", "Wilson's disease"),
        ("Paget's disease of bone.", "Paget's disease"),
        ("Marfan syndrome, echo yearly.", "Marfan syndrome"),
        ("Turner syndrome, karyotype confirmed.", "Turner syndrome"),
        ("Klinefelter syndrome diagnosed at 15.", "Klinefelter syndrome"),
        ("Hirschsprung disease repaired in infancy.", "Hirschsprung disease"),
        ("Kawasaki disease with coronary aneurysm.", "Kawasaki disease"),
        ("Lou Gehrig's disease progressing.", "Lou Gehrig's disease"),
        ("Ewing sarcoma of the femur.", "Ewing sarcoma"),
        ("Wilms tumor, nephrectomy done.", "Wilms tumor"),
        ("Burkitt lymphoma, on chemotherapy.", "Burkitt lymphoma"),
        ("Reiter's syndrome suspected.", "Reiter's syndrome"),
        ("Stevens-Johnson syndrome after the drug.", "Stevens-Johnson syndrome"),
        ("Tay-Sachs disease carrier screening.", "Tay-Sachs disease"),
        ("Creutzfeldt-Jakob disease excluded.", "Creutzfeldt-Jakob disease"),
        ("Epstein-Barr virus serology positive.", "Epstein-Barr virus"),
        ("Glasgow Coma Scale 14 on arrival.", "Glasgow Coma Scale"),
        ("Apgar score 9 at five minutes.", "Apgar score"),
        ("Foley catheter removed.", "Foley catheter"),
        ("Babinski sign present on the right.", "Babinski sign"),
        ("Homans sign negative.", "Homans sign"),
        ("Started Wellbutrin for mood.", "Wellbutrin"),
        ("Continue Lasix 40 mg daily.", "Lasix"),
        ("Given Tylenol for fever.", "Tylenol"),
        ("Switched to Eliquis after the clot.", "Eliquis"),
        ("On Humira for Crohn's disease.", "Crohn's disease"),
        ("Fallot tetralogy repaired; tetralogy of Fallot noted.", "tetralogy of Fallot"),
        ("Ménière disease, low-salt diet advised.", "Ménière disease"),
        ("Benign Baker's cyst behind the knee.", "Baker's cyst"),
        ("Dupuytren's contracture of the ring finger.", "Dupuytren's contracture"),
        ("Osgood-Schlatter disease in a teen athlete.", "Osgood-Schlatter disease"),
    )
)

# No identifier at all: numbers, codes and capitalized words the new rules must leave alone.
PRECISION_CASES: tuple[DevCase, ...] = tuple(
    _c(text, keep=keep)
    for text, keep in (
        ("BP 132/84, HR 95, temp 37.2.", ("HR 95",)),
        ("GAVE 1000 MG METFORMIN DAILY.", ("1000 MG",)),
        ("Room 12 is ready; bring 2 units of blood.", ("Room 12",)),
        ("Dose 2500 IU daily for 12 weeks.", ("2500 IU",)),
        ("She walked 10000 steps, 5 days a week.", ("10000 steps",)),
        ("Hepatitis B Vaccine given in the left arm.", ("Hepatitis B Vaccine",)),
        ("Vitamin D Deficiency noted on labs.", ("Vitamin D Deficiency",)),
        ("Plan: follow up in 2 weeks.\nAssessment: stable.", ("Plan", "Assessment")),
        ("Meds: aspirin 81 mg.\nAllergies: none.", ("Meds", "Allergies")),
        ("Serial troponins were negative.", ("troponins",)),
        ("HbA1c 7.2% in March, LDL 2.9.", ("HbA1c 7.2%", "LDL 2.9")),
        ("Catheter placed via Femoral 8 Fr sheath.", ("Femoral 8 Fr",)),
        ("Transferred to 4 West Wing Room 12 overnight.", ("4 West Wing Room 12",)),
        ("Score of 95 on the test, 120 minutes total.", ("95", "120 minutes")),
        ("Insulin 90 units at night.", ("90 units",)),
        ("Order 3 boxes of gloves, size 8.", ("3 boxes",)),
        ("The 2019 Annual Report is attached.", ("Annual Report",)),
        ("Type 2 diabetes since 2015, stage 3 CKD.", ("Type 2 diabetes", "stage 3 CKD")),
        ("Ticket #4521 was closed by the Support Team.", ("Support Team",)),
        ("Question 12: How satisfied are you?", ("Question 12",)),
        ("Section 4\n2019 results are below.", ("Section 4",)),
        ("Page 2 of 12, Form 1040 attached.", ("Form 1040",)),
        # Look-alikes of the name rules added after the first pass (greetings to groups,
        # adjectives after "it's", units after numbers, dosing abbreviations, form labels).
        ("Dear Team,\nthe report is attached.", ("Team",)),
        ("Thanks again for your help!", ("again",)),
        ("Welcome aboard!", ("aboard",)),
        ("The flat is central, so it's walkable.", ("walkable",)),
        ("Vitals: T 37.1 C. Meds: aspirin 81 mg.", ("Meds",)),
        ("Gift message: enjoy the trip!", ("Gift",)),
        ("Dashcam upload attached to the claim.", ("Dashcam",)),
        ("Login from IP 10.2.3.4 was flagged.", ("Login",)),
        ("metformin 500 mg BID, lisinopril 10 mg daily", ("BID", "lisinopril")),
        ("Exam: normal.\nPlan: rest.\nNote: none.", ("Exam", "Plan", "Note")),
    )
)
