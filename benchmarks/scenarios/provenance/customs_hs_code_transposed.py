"""Customs brokerage desk: the classifier transposes two digits of an HS code read off the invoice.

A document reader fetches the commercial invoice and packing list for an inbound shipment, a
classifier turns the invoice lines into structured entry lines (HTS code, quantity, value), a tariff
agent looks up each code's duty rates and computes the duty, and a broker writer files the entry.

The invoice lists the docking stations under HTS 8471.80.1000 (free, Section 301 excluded). The
classifier writes 8417.80.1000: the tariff schedule has a rate for that code too, so the lookup
succeeds, and the tariff agent and broker faithfully carry the wrong classification and a USD 5,000+
duty into the filed entry.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

INVOICE_TEXT = """COMMERCIAL INVOICE  No. SZX-INV-2025-04471          Date: 2025-05-06
Seller: Shenzhen Lianyou Electronics Co., Ltd., Bldg 7, Nanshan Industrial Park, Shenzhen 518057, CN
Buyer / Importer of record: Harbor & Pine Office Supply LLC, 2290 Commerce Way, Tacoma WA 98421, US (IOR 91-4471180)
B/L: BL-77120-SZX   Vessel: EVER LUCID V.0432E   Port of loading: Yantian   Port of discharge: Tacoma (3002)
Incoterms: FOB Yantian   Currency: USD   Payment: T/T 30 days   Country of origin: China
--------------------------------------------------------------------------------------------------
Ln  Item code    Description                                   HTS code        Qty   Unit USD   Amount USD
1   LY-DK1290    USB-C docking station, 11-in-1, 100 W PD      8471.80.1000    240     79.00     18,960.00
2   LY-CB0448    USB-C to USB-C cable 2 m, 240 W, braided      8544.42.9090   1200      3.10      3,720.00
3   LY-SL0015    Laptop sleeve 14 in, polyester outer shell    4202.92.3131    300      6.40      1,920.00
--------------------------------------------------------------------------------------------------
Total FOB: USD 24,600.00   Packages: 86 cartons   Gross weight: 1,412.0 kg   Net weight: 1,266.5 kg
Marks: H&P/TAC/2025-05  C/No. 1-86     Container: EGHU 934118-2 (40' HC)  Seal: EMCU7741902
We hereby certify that this invoice is true and correct. Authorised signature: Chen Wei (export manager)
PACKING LIST: cartons 1-24 LY-DK1290 (10 pcs/ctn, 14.2 kg); cartons 25-72 LY-CB0448 (25 pcs/ctn, 8.1 kg);
cartons 73-86 LY-SL0015 (25 pcs/ctn, 7.6 kg). Pallets: 6, heat-treated (ISPM-15 HT stamp DE-49-1183).
"""

SCHEDULE = {  # general rate, Section 301 additional rate, description
    "8471.80.1000": (0.0, 0.0, "Control or adapter units for ADP machines (301 exclusion 99.03.88.69)"),
    "8417.80.1000": (2.9, 25.0, "Industrial or laboratory furnaces and ovens, non-electric, other"),
    "8544.42.9090": (2.6, 25.0, "Insulated electric conductors, fitted with connectors, other"),
    "4202.92.3131": (17.6, 7.5, "Travel, sports and similar bags, outer surface of man-made textile"),
}

sc = Scenario(
    "customs-hs-code-transposed", klass="provenance",
    task="Prepare and file the US customs entry for shipment BL-77120-SZX (Harbor & Pine, Tacoma) using the "
         "HTS codes on the commercial invoice. Report each line's HTS code and the total duty in USD.",
    description="the classifier copies HTS 8471.80.1000 off the invoice as 8417.80.1000",
    expected={"lines": ["8471.80.1000", "8544.42.9090", "4202.92.3131"], "duty_usd": 1508.64},
    category="misread_value",
)


def llm(prompt, reply, culprit_agent=None):
    with rs.llm_call(model="gpt-4o-2024-08-06", provider="openai") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["stop"])
        if culprit_agent:
            sc.mark_culprit(agent=culprit_agent)
    return reply


@rs.tool("fetch_document")
def fetch_document(shipment: str, doc_type: str) -> dict:
    return {"shipment": shipment, "doc_type": doc_type, "doc_id": "DOC-558120", "pages": 2, "text": INVOICE_TEXT}


@rs.tool("tariff_lookup")
def tariff_lookup(hts: str, origin: str) -> dict:
    general, s301, desc = SCHEDULE[hts]
    return {"hts": hts, "description": desc, "general_pct": general, "section_301_pct": s301 if origin == "CN" else 0.0,
            "schedule": "HTSUS 2025 Basic Edition, Rev. 9"}


@rs.tool("file_entry")
def file_entry(entry: dict) -> dict:
    return {"entry_number": "ABC-0771204-6", "status": "accepted", "ace_response": "ACCEPTED - CARGO RELEASE PENDING",
            "lines": len(entry["lines"])}


@rs.agent("doc_reader")
def doc_reader(task: str) -> str:
    doc = fetch_document("BL-77120-SZX", "commercial_invoice")
    llm([{"role": "user", "content": task}, {"role": "user", "content": doc["text"]}],
        "Commercial invoice SZX-INV-2025-04471 from Shenzhen Lianyou: 3 lines, total FOB USD 24,600.00, origin CN, "
        "86 cartons on 6 pallets in container EGHU 934118-2. The packing list matches the invoice quantities.")
    return doc["text"]


@rs.agent("classifier")
def classifier(text: str) -> list[dict]:
    reply = llm([{"role": "system", "content": "Extract every invoice line as JSON: hts, qty, value_usd, description."},
                 {"role": "user", "content": text}],
                '[{"ln": 1, "hts": "8417.80.1000", "qty": 240, "value_usd": 18960.00, "description": "USB-C docking station"},'
                ' {"ln": 2, "hts": "8544.42.9090", "qty": 1200, "value_usd": 3720.00, "description": "USB-C cable 2 m"},'
                ' {"ln": 3, "hts": "4202.92.3131", "qty": 300, "value_usd": 1920.00, "description": "Laptop sleeve 14 in"}]',
                culprit_agent="classifier")
    return json.loads(reply)


@rs.agent("tariff_agent")
def tariff_agent(lines: list[dict]) -> dict:
    total = 0.0
    rated = []
    for line in lines:
        rate = tariff_lookup(line["hts"], "CN")
        duty = round(line["value_usd"] * (rate["general_pct"] + rate["section_301_pct"]) / 100, 2)
        rated.append({**line, "general_pct": rate["general_pct"], "s301_pct": rate["section_301_pct"], "duty_usd": duty})
        total += duty
    total = round(total, 2)
    llm(f"Summarise the duty computation: {json.dumps(rated)}",
        f"Total duty USD {total:,.2f}. The docking stations carry most of it ({rated[0]['general_pct']} % general + "
        f"{rated[0]['s301_pct']} % Section 301); cables and sleeves add the rest.")
    return {"lines": rated, "duty_usd": total}


@rs.agent("broker_writer")
def broker_writer(rated: dict) -> dict:
    ack = file_entry({"importer": "91-4471180", "port": "3002", "bl": "BL-77120-SZX", "lines": rated["lines"]})
    llm(f"Tell the importer the entry is filed: {json.dumps(ack)}; duty USD {rated['duty_usd']:,.2f}",
        f"Entry ABC-0771204-6 for BL-77120-SZX was accepted by ACE. Estimated duty: USD {rated['duty_usd']:,.2f}, "
        "payable via the statement on the 15th.")
    return {"lines": [l["hts"] for l in rated["lines"]], "duty_usd": rated["duty_usd"]}


def app(sc):
    text = doc_reader(sc.task)
    lines = classifier(text)
    rated = tariff_agent(lines)
    return broker_writer(rated)


def check(answer):
    if answer == sc.expected:
        return True, "entry matches the invoice"
    return False, (f"filed lines {answer['lines']} with duty USD {answer['duty_usd']:,.2f}; CBP flagged line 1 "
                   f"for review; the duty owed was USD {sc.expected['duty_usd']:,.2f}")


if __name__ == "__main__":
    sc.main(app, check)
