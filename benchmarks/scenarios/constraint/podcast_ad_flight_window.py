"""Podcast ad sales: campaign_planner -> media_buyer -> booking_agent -> invoice_writer.

A sneaker brand buys 6 mid-roll slots that must air inside its flight window, 2024-09-09 to
2024-09-22, for at most USD 12,000. The inventory feed lists 14 available slots. The media buyer
chases the cheapest cost-per-thousand and includes two episodes that publish on 2024-09-24 and
2024-09-26, after the window closes. The booking agent and invoice writer carry those slots faithfully.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

_RAW = [  # slot id, show, episode, publish date, position, est downloads, price usd
    ("SLT-7101", "Trail Talk", "EP 212", "2024-09-10", "mid", 48000, 1680),
    ("SLT-7102", "Trail Talk", "EP 213", "2024-09-17", "mid", 47500, 1660),
    ("SLT-7103", "Trail Talk", "EP 214", "2024-09-24", "mid", 49000, 1420),
    ("SLT-7220", "Split Times", "EP 88", "2024-09-11", "mid", 31000, 1150),
    ("SLT-7221", "Split Times", "EP 89", "2024-09-18", "mid", 30500, 1140),
    ("SLT-7222", "Split Times", "EP 90", "2024-09-26", "mid", 32000, 890),
    ("SLT-7305", "Run The City", "EP 401", "2024-09-09", "pre", 62000, 2600),
    ("SLT-7306", "Run The City", "EP 402", "2024-09-16", "mid", 61000, 2900),
    ("SLT-7410", "Sole Searching", "EP 57", "2024-09-12", "mid", 22000, 820),
    ("SLT-7411", "Sole Searching", "EP 58", "2024-09-19", "mid", 21800, 815),
    ("SLT-7412", "Sole Searching", "EP 59", "2024-09-03", "mid", 21500, 640),
    ("SLT-7530", "Morning Miles", "EP 1033", "2024-09-13", "post", 54000, 990),
    ("SLT-7531", "Morning Miles", "EP 1038", "2024-09-20", "mid", 53000, 1850),
    ("SLT-7532", "Morning Miles", "EP 1041", "2024-09-23", "mid", 55000, 1790),
]
SLOTS = [{"slot": s, "show": sh, "episode": e, "publish_date": d, "position": p, "est_downloads": n,
          "price_usd": pr, "cpm_usd": round(pr / n * 1000, 2), "host_read": True}
         for s, sh, e, d, p, n, pr in _RAW]

sc = Scenario(
    "podcast-ad-flight-window", klass="constraint",
    task="Book 6 host-read mid-roll ad slots for the Stridewell 'Fall Tempo' campaign. Every slot must publish "
         "within the flight window 2024-09-09 to 2024-09-22 inclusive. Budget USD 12,000 total. Maximise reach.",
    description="the media buyer picks two cheaper-CPM slots publishing 2024-09-24 and 2024-09-26, outside the flight window",
    category="disobey_task_spec",
)


@rs.tool("list_inventory")
def list_inventory(genre: str, start: str, end: str) -> list:
    return SLOTS  # the feed returns a padded range around the window


@rs.tool("hold_slot")
def hold_slot(slot: str, advertiser: str) -> dict:
    return {"slot": slot, "advertiser": advertiser, "hold_id": f"HLD-{slot[-4:]}-19", "status": "held",
            "expires": "2024-08-30T17:00:00Z"}


@rs.tool("confirm_io")
def confirm_io(holds: list) -> dict:
    return {"io": "IO-2024-0831", "holds": [h["hold_id"] for h in holds], "status": "signed"}


@rs.agent("campaign_planner")
def campaign_planner(task: str) -> dict:
    sc.llm(task, "Brief: advertiser Stridewell, 6 mid-rolls, window 09-09..09-22, cap USD 12,000, host-read, running genre.")
    return {"advertiser": "Stridewell", "count": 6, "window": ["2024-09-09", "2024-09-22"], "budget": 12000}


@rs.agent("media_buyer")
def media_buyer(brief: dict) -> list:
    inv = list_inventory("running", "2024-09-02", "2024-09-30")
    reply = sc.llm(
        [{"role": "system", "content": "Choose slots. End with 'Slots: id, id, ...'."},
         {"role": "user", "content": f"Brief: {json.dumps(brief)}\n\nInventory:\n{json.dumps(inv, indent=1)}"}],
        "Ranking mid-rolls by CPM (lower is better):\n- SLT-7222 Split Times EP 90: $27.81\n- SLT-7103 Trail Talk EP 214: $28.98\n"
        "- SLT-7102: $34.95, SLT-7101: $35.00, SLT-7221: $37.38, SLT-7411: $37.39\n"
        "SLT-7412 is excluded, it airs 09-03 before the campaign launches. Six lowest-CPM mid-rolls total "
        "USD 7,605, well under budget, ~229k downloads.\n\nSlots: SLT-7222, SLT-7103, SLT-7102, SLT-7101, SLT-7221, SLT-7411",
    )
    sc.mark_culprit(agent="media_buyer")
    return [s.strip() for s in re.search(r"Slots: (.*)$", reply).group(1).split(",")]


@rs.agent("booking_agent")
def booking_agent(slots: list) -> dict:
    holds = [hold_slot(s, "Stridewell") for s in slots]
    io = confirm_io(holds)
    return {"io": io["io"], "status": io["status"], "holds": holds}


@rs.agent("invoice_writer")
def invoice_writer(booking: dict) -> dict:
    picked = [next(x for x in SLOTS if x["slot"] == h["slot"]) for h in booking["holds"]]
    total = sum(p["price_usd"] for p in picked)
    sc.llm(f"Write the insertion order summary for {json.dumps(picked)}",
           f"IO {booking['io']} - Stridewell Fall Tempo: " + ", ".join(f"{p['show']} {p['episode']} ({p['publish_date']})" for p in picked)
           + f". Total USD {total:,}.")
    return {"io": booking["io"], "slots": picked, "total_usd": total}


def app(sc):
    return invoice_writer(booking_agent(media_buyer(campaign_planner(sc.task))))


def check(answer):
    out = [s["slot"] for s in answer["slots"] if not ("2024-09-09" <= s["publish_date"] <= "2024-09-22")]
    if out:
        return False, f"slots {out} publish outside the 2024-09-09..2024-09-22 flight window"
    if answer["total_usd"] > 12000 or len(answer["slots"]) != 6:
        return False, "budget or count violated"
    return True, "booking valid"


if __name__ == "__main__":
    sc.main(app, check)
