"""Brand names and abbreviations of drugs common in long-term care, mapped to their generic
ingredients, so an allergy written "Bactrim" warns for "sulfamethoxazole-trimethoprim" and an
allergy to "penicillin" warns for an order written "Augmentin".

Source: the US brand and generic names in the FDA's Orange Book and DailyMed labels, and the
abbreviations ISMP lists as in use (for recognition only; the app itself never writes them).
Chosen for what LTC MARs commonly carry; it errs toward more entries, never fewer. A facility
that needs another name adds it to :data:`NAMES` in a release (keys lower case, values the
generic words :mod:`mar_desktop.clinical.allergies` matches), with a test in
``tests/mar_desktop/clinical/test_allergies.py``; :data:`TABLE_VERSION` says which table a build
has.
"""

from __future__ import annotations

TABLE_VERSION = "2026-12-07"

NAMES: dict[str, str] = {
    # sulfonamide antibiotics
    "bactrim": "sulfamethoxazole trimethoprim",
    "septra": "sulfamethoxazole trimethoprim",
    "tmp-smx": "sulfamethoxazole trimethoprim",
    "smx-tmp": "sulfamethoxazole trimethoprim",
    "cotrimoxazole": "sulfamethoxazole trimethoprim",
    "azulfidine": "sulfasalazine",
    # penicillins
    "augmentin": "amoxicillin clavulanate",
    "amoxil": "amoxicillin",
    "unasyn": "ampicillin sulbactam",
    "zosyn": "piperacillin tazobactam",
    "bicillin": "penicillin benzathine",
    "pen-vk": "penicillin",
    "pcn": "penicillin",
    # cephalosporins
    "keflex": "cephalexin",
    "ancef": "cefazolin",
    "rocephin": "ceftriaxone",
    "omnicef": "cefdinir",
    "ceftin": "cefuroxime",
    "vantin": "cefpodoxime",
    "maxipime": "cefepime",
    "duricef": "cefadroxil",
    # opioids
    "percocet": "oxycodone acetaminophen",
    "oxycontin": "oxycodone",
    "roxicodone": "oxycodone",
    "vicodin": "hydrocodone acetaminophen",
    "norco": "hydrocodone acetaminophen",
    "lortab": "hydrocodone acetaminophen",
    "dilaudid": "hydromorphone",
    "ms contin": "morphine",
    "roxanol": "morphine",
    "duragesic": "fentanyl",
    "ultram": "tramadol",
    "demerol": "meperidine",
    "nucynta": "tapentadol",
    "tylenol #3": "codeine acetaminophen",
    "tylenol with codeine": "codeine acetaminophen",
    "butrans": "buprenorphine",
    "dolophine": "methadone",
    # NSAIDs and salicylates
    "advil": "ibuprofen",
    "motrin": "ibuprofen",
    "aleve": "naproxen",
    "naprosyn": "naproxen",
    "toradol": "ketorolac",
    "celebrex": "celecoxib",
    "mobic": "meloxicam",
    "voltaren": "diclofenac",
    "indocin": "indomethacin",
    "asa": "aspirin",
    "ecotrin": "aspirin",
    "bayer": "aspirin",
    # ACE inhibitors
    "zestril": "lisinopril",
    "prinivil": "lisinopril",
    "vasotec": "enalapril",
    "altace": "ramipril",
    "lotensin": "benazepril",
    # others often on an LTC allergy list
    "tylenol": "acetaminophen",
    "apap": "acetaminophen",
    "coumadin": "warfarin",
    "lasix": "furosemide",
    "hctz": "hydrochlorothiazide",
    "zithromax": "azithromycin",
    "z-pak": "azithromycin",
    "cipro": "ciprofloxacin",
    "levaquin": "levofloxacin",
    "flagyl": "metronidazole",
    "macrobid": "nitrofurantoin",
    "macrodantin": "nitrofurantoin",
    "lipitor": "atorvastatin",
    "zocor": "simvastatin",
    "lopressor": "metoprolol",
    "toprol": "metoprolol",
    "glucophage": "metformin",
    "synthroid": "levothyroxine",
    "ativan": "lorazepam",
    "xanax": "alprazolam",
    "klonopin": "clonazepam",
    "valium": "diazepam",
    "ambien": "zolpidem",
    "haldol": "haloperidol",
    "seroquel": "quetiapine",
    "risperdal": "risperidone",
    "lovenox": "enoxaparin",
}
