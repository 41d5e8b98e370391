"""Dairy farm feed ordering: the purchasing agent reads the supplier's 50 lb bag as 50 kg.

A herd agent counts the milking string, a nutrition agent runs the ration software for the week's
soybean meal need, a supplier agent gets the co-op's quote, a purchasing agent works out how many
bags to order and places the order, and an order writer confirms to the farmer.

The co-op quotes soybean meal in 50 lb bags (22.68 kg). The purchasing agent's model extracts the
bag weight as 50 kg; the order code divides the week's 1,932 kg by 50 and orders 39 bags, and the
confirmation carries that on. The herd runs out of protein supplement on day 4.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json
import math

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "dairy-feed-bag-pounds-as-kg", klass="provenance",
    task="Order next week's soybean meal for the lactating herd at Willow Bend Dairy from the co-op: enough for 7 "
         "days of the current ration, rounded up to whole bags. Tell me how many bags and kg were ordered.",
    description="the purchasing model extracts the co-op's 50 lb bag weight as 50 kg",
    expected={"bags": 86, "kg": 1950.5},
    category="misread_value",
)

HERD = [{"cow": f"WB-{2200 + i}", "group": "high" if i % 3 else "fresh", "dim": 40 + (i * 7) % 220,
         "milk_kg": round(32 + (i * 5) % 14 + 0.4, 1)} for i in range(120)]


def llm(prompt, reply, culprit_agent=None):
    with rs.llm_call(model="gemini-1.5-pro-002", provider="gcp.gemini") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["STOP"])
        if culprit_agent:
            sc.mark_culprit(agent=culprit_agent)
    return reply


@rs.tool("herd_records")
def herd_records(farm: str, status: str) -> dict:
    return {"farm": farm, "status": status, "count": len(HERD), "cows": HERD[:12], "truncated": True,
            "avg_milk_kg": round(sum(c["milk_kg"] for c in HERD) / len(HERD), 1)}


@rs.tool("ration_formulation")
def ration_formulation(group_size: int, avg_milk_kg: float, days: int) -> dict:
    sbm_kg_per_cow = 2.3
    return {"ration_id": "TMR-LAC-2025-06", "ingredients_as_fed_kg_per_cow": {"corn silage": 22.0, "alfalfa haylage": 9.5,
            "ground corn": 4.1, "soybean meal 47.5": sbm_kg_per_cow, "whole cottonseed": 1.4, "mineral premix": 0.45},
            "soybean_meal_total_kg": round(group_size * sbm_kg_per_cow * days, 1), "days": days, "cows": group_size}


@rs.tool("supplier_quote")
def supplier_quote(product: str) -> dict:
    return {"supplier": "Tri-County Farmers Co-op", "quote_id": "Q-60419", "product": "Soybean meal 47.5% CP, bagged",
            "sku": "SBM-475-50", "pack": "bag", "pack_weight": 50, "pack_weight_unit": "lb", "price_per_bag_usd": 21.40,
            "min_order_bags": 20, "lead_time_days": 3, "valid_until": "2025-06-20"}


@rs.tool("place_order")
def place_order(quote_id: str, sku: str, bags: int) -> dict:
    return {"order_id": "PO-WB-1187", "quote_id": quote_id, "sku": sku, "bags": bags, "delivery": "2025-06-16",
            "status": "confirmed", "total_usd": round(bags * 21.40, 2)}


@rs.agent("herd_agent")
def herd_agent(task: str) -> dict:
    herd = herd_records("Willow Bend Dairy", "lactating")
    llm([{"role": "user", "content": task}, {"role": "user", "content": json.dumps(herd)}],
        f"The lactating string is {herd['count']} cows averaging {herd['avg_milk_kg']} kg milk/day.")
    return herd


@rs.agent("nutrition_agent")
def nutrition_agent(herd: dict) -> dict:
    ration = ration_formulation(herd["count"], herd["avg_milk_kg"], 7)
    llm(f"Summarise the soybean meal need: {json.dumps(ration)}",
        f"Current ration TMR-LAC-2025-06 feeds 2.3 kg soybean meal per cow per day: "
        f"{ration['soybean_meal_total_kg']:,} kg for 7 days for {herd['count']} cows.")
    return ration


@rs.agent("supplier_agent")
def supplier_agent() -> dict:
    quote = supplier_quote("soybean meal 47.5")
    llm(f"Summarise the quote for the buyer: {json.dumps(quote)}",
        "Tri-County Co-op quote Q-60419: SBM-475-50 at USD 21.40 per 50 lb bag, minimum 20 bags, 3-day lead time, "
        "valid until 20 June.")
    return quote


@rs.agent("purchasing_agent")
def purchasing_agent(ration: dict, quote: dict) -> dict:
    reply = llm([{"role": "system", "content": "Extract the bag weight in kg as JSON {\"bag_kg\": number}."},
                 {"role": "user", "content": json.dumps(quote)}], '{"bag_kg": 50}', culprit_agent="purchasing_agent")
    bag_kg = json.loads(reply)["bag_kg"]
    bags = max(quote["min_order_bags"], math.ceil(ration["soybean_meal_total_kg"] / bag_kg))
    order = place_order(quote["quote_id"], quote["sku"], bags)
    return {"order": order, "bag_kg": bag_kg}


@rs.agent("order_writer")
def order_writer(placed: dict) -> dict:
    order, bag_kg = placed["order"], placed["bag_kg"]
    kg = round(order["bags"] * bag_kg, 1)
    llm(f"Confirm the order to the farmer: {json.dumps(order)}, {kg} kg",
        f"Ordered {order['bags']} bags ({kg:,} kg) of soybean meal from Tri-County Co-op, PO-WB-1187, delivered "
        f"Mon 16 June, USD {order['total_usd']:,.2f}. That covers the week's ration.")
    return {"bags": order["bags"], "kg": kg}


def app(sc):
    herd = herd_agent(sc.task)
    ration = nutrition_agent(herd)
    quote = supplier_agent()
    placed = purchasing_agent(ration, quote)
    return order_writer(placed)


def check(answer):
    if answer["bags"] == sc.expected["bags"]:
        return True, "a week of soybean meal ordered"
    return False, (f"{answer['bags']} bags arrived ({round(answer['bags'] * 22.68):,} kg by the scale); the ration needs "
                   "1,932 kg for the week and the herd ran out on day 4")


if __name__ == "__main__":
    sc.main(app, check)
