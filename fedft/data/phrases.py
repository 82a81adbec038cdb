"""Phrase pools for the synthetic demo corpora (data only; clinical_notes.py and banking_notes.py
build the notes, synthetic.py is the entry point).

Each label has several pools (complaint, finding, medication, plan, diagnosis), each with many
phrasings, so no single keyword gives the label away. SHARED phrases fit several labels, and
HISTORY phrases carry other labels' vocabulary into a note as background (a neurology patient
with a past heart attack), so a classifier has to weigh the whole note.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

CLINICAL: Final = MappingProxyType({
    "cardiology": MappingProxyType({
        "complaint": (
            "exertional chest tightness", "palpitations", "chest pain radiating to the jaw",
            "swelling of both ankles", "breathlessness when lying flat",
            "episodes of near-fainting", "a racing heartbeat at night",
            "pressure-like chest discomfort on stairs", "waking up gasping for air",
        ),
        "finding": (
            "ECG shows ST depression in leads V4-V6", "troponin mildly elevated",
            "irregularly irregular pulse", "echo shows an ejection fraction of 35%",
            "systolic murmur at the right upper sternal border", "BNP elevated at 900",
            "BP 168/98 on repeat measurement", "jugular venous distension",
            "Holter captured runs of atrial fibrillation", "bibasal crackles and pitting edema",
        ),
        "medication": (
            "metoprolol", "apixaban", "atorvastatin 80 mg", "furosemide 40 mg", "ramipril",
            "aspirin and clopidogrel", "amiodarone", "sacubitril-valsartan", "bisoprolol",
        ),
        "plan": (
            "coronary angiography scheduled", "stress echocardiography requested",
            "cardioversion discussed", "30-day event monitor ordered",
            "cardiac rehab referral placed", "repeat echo in three months",
            "fluid restriction to 1.5 L per day",
        ),
        "diagnosis": (
            "stable angina", "atrial fibrillation with rapid response",
            "heart failure with reduced ejection fraction", "aortic stenosis",
            "hypertensive heart disease", "non-ST elevation myocardial infarction",
        ),
    }),
    "pulmonology": MappingProxyType({
        "complaint": (
            "productive cough for three weeks", "wheezing at night",
            "breathlessness climbing stairs", "blood-streaked sputum", "a chronic dry cough",
            "chest tightness in cold air", "daytime sleepiness and loud snoring",
            "pleuritic pain on deep inspiration",
        ),
        "finding": (
            "SpO2 89% on room air", "diffuse expiratory wheezes",
            "crackles at the right lung base", "chest x-ray shows a right lower lobe infiltrate",
            "spirometry FEV1/FVC 0.62", "CT chest shows a 9 mm nodule",
            "peak flow at 60% of predicted", "sleep study AHI 32",
            "reduced air entry on the left",
        ),
        "medication": (
            "albuterol inhaler", "tiotropium", "fluticasone-salmeterol", "a prednisone taper",
            "azithromycin", "montelukast", "nebulized ipratropium", "amoxicillin-clavulanate",
        ),
        "plan": (
            "pulmonary function tests ordered", "bronchoscopy planned",
            "CPAP titration arranged", "low-dose CT in 6 months",
            "pulmonary rehab referral", "home oxygen assessment", "sputum culture sent",
        ),
        "diagnosis": (
            "COPD exacerbation", "community-acquired pneumonia", "moderate persistent asthma",
            "obstructive sleep apnea", "pulmonary nodule", "interstitial lung disease",
        ),
    }),
    "gastroenterology": MappingProxyType({
        "complaint": (
            "epigastric burning after meals", "intermittent bloody stools",
            "difficulty swallowing solids", "bloating and alternating bowel habits",
            "right upper quadrant pain after fatty food", "persistent heartburn",
            "black tarry stools", "chronic watery diarrhea",
        ),
        "finding": (
            "ALT and AST three times normal", "stool positive for occult blood",
            "tender epigastrium without guarding", "ultrasound shows gallstones",
            "hemoglobin down to 9.8", "H. pylori breath test positive",
            "fecal calprotectin raised", "mild hepatomegaly", "scleral icterus",
        ),
        "medication": (
            "omeprazole", "pantoprazole", "mesalamine", "ursodiol", "lactulose",
            "ondansetron", "loperamide", "sucralfate",
        ),
        "plan": (
            "upper endoscopy scheduled", "colonoscopy booked", "HIDA scan requested",
            "celiac serology sent", "low-FODMAP diet advised", "repeat liver panel in 4 weeks",
            "surgical consult for cholecystectomy",
        ),
        "diagnosis": (
            "gastroesophageal reflux disease", "ulcerative colitis flare", "peptic ulcer disease",
            "irritable bowel syndrome", "biliary colic", "fatty liver disease",
        ),
    }),
    "neurology": MappingProxyType({
        "complaint": (
            "recurrent throbbing headaches with aura", "tingling in both feet",
            "sudden weakness of the right hand", "episodes of staring and confusion",
            "a tremor at rest", "word-finding difficulty", "vertigo with head turns",
            "double vision in the evening", "memory lapses noticed by family",
        ),
        "finding": (
            "MRI brain shows periventricular white matter lesions",
            "EEG with left temporal sharp waves", "reduced vibration sense in the toes",
            "cogwheel rigidity", "positive Romberg sign", "left pronator drift",
            "slowed nerve conduction velocities", "NIHSS score of 4", "MoCA 21/30",
        ),
        "medication": (
            "levetiracetam", "sumatriptan", "topiramate", "carbidopa-levodopa", "donepezil",
            "pregabalin", "lamotrigine",
        ),
        "plan": (
            "lumbar puncture arranged", "video EEG monitoring requested",
            "CT angiogram of the head and neck", "neuropsychological testing requested",
            "headache diary started", "repeat MRI in six months",
            "driving restrictions discussed",
        ),
        "diagnosis": (
            "migraine with aura", "focal epilepsy", "Parkinson's disease",
            "peripheral neuropathy", "transient ischemic attack", "multiple sclerosis",
        ),
    }),
    "orthopedics": MappingProxyType({
        "complaint": (
            "right knee pain after a twisting injury", "low back pain radiating down the left leg",
            "shoulder pain reaching overhead", "wrist swelling after a fall",
            "hip pain worse on walking", "locking of the left knee", "recurrent ankle sprains",
            "heel pain with the first steps in the morning",
        ),
        "finding": (
            "x-ray shows a nondisplaced distal radius fracture", "positive McMurray test",
            "reduced internal rotation of the hip", "MRI shows a full-thickness rotator cuff tear",
            "knee effusion", "tenderness over the lateral epicondyle",
            "positive straight leg raise at 40 degrees", "joint space narrowing on x-ray",
            "anterior drawer test positive",
        ),
        "medication": (
            "naproxen", "ibuprofen 600 mg", "a corticosteroid injection into the joint",
            "cyclobenzaprine", "meloxicam", "topical diclofenac",
        ),
        "plan": (
            "physical therapy twice weekly", "arthroscopy referral", "cast for six weeks",
            "total knee replacement discussed", "knee brace fitted",
            "weight-bearing as tolerated", "custom orthotics ordered",
        ),
        "diagnosis": (
            "meniscal tear", "lumbar radiculopathy", "rotator cuff tear",
            "osteoarthritis of the hip", "distal radius fracture", "plantar fasciitis",
        ),
    }),
})  # fmt: skip

# Phrases that fit several specialties: they appear in notes of any of the listed labels.
CLINICAL_SHARED: Final = (
    ("chest pain", ("cardiology", "pulmonology", "gastroenterology")),
    ("shortness of breath", ("cardiology", "pulmonology")),
    ("dizziness", ("cardiology", "neurology")),
    ("nausea", ("gastroenterology", "neurology")),
    ("back pain", ("orthopedics", "neurology")),
    ("fatigue", ("cardiology", "pulmonology", "gastroenterology", "neurology")),
    ("numbness in the left arm", ("neurology", "cardiology", "orthopedics")),
    ("unintentional weight loss", ("gastroenterology", "pulmonology")),
    ("low-grade fever", ("pulmonology", "gastroenterology")),
    ("leg swelling", ("cardiology", "orthopedics")),
    ("headache", ("neurology", "cardiology")),
    ("a fall at home last week", ("orthopedics", "neurology", "cardiology")),
    ("prednisone", ("pulmonology", "gastroenterology", "neurology")),
    ("gabapentin", ("neurology", "orthopedics")),
)  # fmt: skip

# Past history drawn from any specialty: background vocabulary that is not the visit's reason.
CLINICAL_HISTORY: Final = (
    "hypertension on amlodipine", "a prior myocardial infarction", "type 2 diabetes on metformin",
    "childhood asthma", "GERD on omeprazole", "migraines in her twenties",
    "a remote knee arthroscopy",
    "hypothyroidism", "a cholecystectomy in 2015", "a stroke five years ago", "sleep apnea on CPAP",
    "osteoporosis", "atrial fibrillation on warfarin", "a hip replacement", "hyperlipidemia",
    "depression", "smoking 20 pack-years", "chronic kidney disease stage 3",
)  # fmt: skip

CLINICAL_NEUTRAL: Final = (
    "Vitals otherwise stable.", "No known drug allergies.", "Allergic to penicillin.",
    "Non-smoker.", "Lives with spouse.", "Works night shifts.", "Follow-up in two weeks.",
    "Counseled on diet and exercise.", "Flu vaccine given today.", "Interpreter present.",
    "Afebrile.", "Labs drawn.", "Questions answered.", "Daughter accompanied the patient.",
)  # fmt: skip

BANKING: Final = MappingProxyType({
    "fraud": MappingProxyType({
        "issue": (
            "reports payments they did not make", "received a text asking for a one-time passcode",
            "saw a login from an unrecognized device", "was tricked into paying a fake supplier",
            "sees small test charges from an unknown merchant",
            "was called by someone posing as the bank",
        ),
        "detail": (
            "three transfers to a new payee within ten minutes",
            "device fingerprint does not match",
            "merchant registered overseas", "password reset shortly before the transfers",
            "SIM swap reported by the carrier", "payee name does not match the account",
        ),
        "action": (
            "online banking suspended pending review", "fraud claim opened", "payee blocked",
            "escalated to the investigations team", "customer advised to change all passwords",
            "recall request sent to the receiving bank",
        ),
    }),
    "card": MappingProxyType({
        "issue": (
            "had a card declined at a supermarket", "had the card retained by an ATM",
            "wants a higher contactless limit", "says the card is damaged and not reading",
            "asks why the credit limit was lowered", "locked the PIN after three attempts",
        ),
        "detail": (
            "card expires next month", "chip unreadable", "minimum payment missed last cycle",
            "foreign transaction fee applied", "duplicated hotel charge on the statement",
            "card frozen in the app by mistake",
        ),
        "action": (
            "replacement card ordered", "PIN unlocked after verification",
            "temporary limit increase approved", "dispute raised for the duplicated charge",
            "travel notice added", "virtual card issued in the app",
        ),
    }),
    "loan": MappingProxyType({
        "issue": (
            "asks about a personal loan for a car", "wants to repay the loan early",
            "missed a loan installment", "requests a payment holiday",
            "asks to consolidate two loans", "wants to borrow 8,000 for home repairs",
        ),
        "detail": (
            "loan term 48 months", "early repayment charge explained", "debt-to-income ratio 38%",
            "installment of 320.00 due on the 5th", "APR quoted at 7.9%",
            "two arrears letters already sent",
        ),
        "action": (
            "application submitted for underwriting", "repayment schedule revised",
            "hardship assessment booked", "settlement figure issued", "loan agreement e-signed",
            "affordability check completed",
        ),
    }),
    "mortgage": MappingProxyType({
        "issue": (
            "asks about remortgaging before the fixed rate ends", "wants to overpay the mortgage",
            "needs a valuation for a new home", "asks about porting the mortgage",
            "is worried about the rate rise at renewal", "wants to add a partner to the deed",
        ),
        "detail": (
            "loan-to-value 75%", "fixed rate ends in March",
            "valuation came in below the purchase price", "offer valid for six months",
            "escrow shortfall on property tax", "25-year term with 19 years remaining",
        ),
        "action": (
            "mortgage adviser appointment booked", "agreement in principle issued",
            "product transfer offered", "valuation instructed", "redemption statement sent",
            "conveyancer details recorded",
        ),
    }),
    "account": MappingProxyType({
        "issue": (
            "wants to open a joint savings account", "asks to close the current account",
            "cannot log in to the mobile app", "needs to update the registered address",
            "asks about an overdraft fee", "wants copies of last year's statements",
        ),
        "detail": (
            "account dormant for 14 months", "overdraft limit 500.00", "direct debit failed twice",
            "standing order set for the 1st of each month", "proof of address pending",
            "monthly account fee of 12.00",
        ),
        "action": (
            "closure form sent", "app access reset", "fee refunded as a goodwill gesture",
            "statements posted", "address updated after an ID check", "savings account opened",
        ),
    }),
})  # fmt: skip

BANKING_SHARED: Final = (
    ("an unexpected charge", ("fraud", "card")),
    ("the interest rate", ("loan", "mortgage", "card")),
    ("a transfer that did not arrive", ("fraud", "account")),
    ("the monthly statement", ("card", "account")),
    ("a late fee", ("card", "loan")),
    ("their credit score", ("loan", "mortgage", "card")),
    ("the overdraft", ("account", "loan")),
    ("a blocked payment", ("fraud", "card", "account")),
)  # fmt: skip

BANKING_HISTORY: Final = (
    "has a mortgage with us since 2019", "holds a credit card and a savings account",
    "took out a car loan last year", "had a fraud case closed in 2022",
    "recently switched their salary account to us", "has an overdraft arranged",
)  # fmt: skip

BANKING_NEUTRAL: Final = (
    "Customer was polite.", "Call lasted 12 minutes.", "Verified via security questions.",
    "Prefers email contact.", "Also asked about branch opening hours.",
    "Marketing preferences unchanged.", "Complaint not logged.", "Callback not needed.",
)  # fmt: skip
