"""Corporate catering assistant: the memory summarizer compresses the chat and drops a guest's nut allergy.

The client's requirements arrive over several messages. When the conversation passes the context
budget, a memory summarizer condenses it, and every later agent works from that summary: a menu
planner picks dishes and pulls their recipes, an allergen checker checks the menu against the
allergies in the summary, and a quoting agent prices it. The summary keeps the date, headcount,
budget and the vegetarian share, but loses "our CEO has a severe tree-nut allergy" from the
second message. The menu gets a pear-and-walnut salad and a pistachio dessert, and the allergen
check, given no allergies, passes.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

HISTORY = [
    {"role": "user", "content": "We need lunch catering for our offsite on Thu 24 Oct 2024, 45 people, at the "
                                "Harbour Loft (event EV-3092)."},
    {"role": "assistant", "content": "Lovely. Any dietary requirements?"},
    {"role": "user", "content": "About a third vegetarian. And important: our CEO has a severe tree-nut allergy, so "
                                "nothing with nuts anywhere on the menu, please."},
    {"role": "assistant", "content": "Noted. Budget per head?"},
    {"role": "user", "content": "Around EUR 38 per person including drinks. Buffet style is fine."},
    {"role": "assistant", "content": "Great. Any cuisine preferences?"},
    {"role": "user", "content": "Mediterranean-ish would be nice. Can you send a menu and a quote?"},
]
RECIPES = {
    "Chicken souvlaki with lemon potatoes": ["chicken", "lemon", "potato", "oregano", "olive oil"],
    "Roasted vegetable orzo (V)": ["orzo", "courgette", "pepper", "feta", "basil"],
    "Pear, walnut and rocket salad (V)": ["pear", "walnut", "rocket", "parmesan", "balsamic"],
    "Baklava-style pistachio squares": ["filo", "pistachio", "honey", "butter"],
    "Sparkling water and lemonade": ["water", "lemon", "sugar"],
}
TREE_NUTS = {"walnut", "pistachio", "almond", "cashew", "hazelnut", "pecan"}
PRICES = {"Chicken souvlaki with lemon potatoes": 13.0, "Roasted vegetable orzo (V)": 11.0,
          "Pear, walnut and rocket salad (V)": 6.5, "Baklava-style pistachio squares": 4.5,
          "Sparkling water and lemonade": 3.0}

sc = Scenario(
    "offsite-catering-order", klass="process",
    task="\n".join(m["content"] for m in HISTORY if m["role"] == "user"),
    description="The memory summarizer leaves the CEO's severe tree-nut allergy out of the condensed history; the "
                "menu includes walnuts and pistachios and the allergen check, given no allergies, passes it.",
    expected="a nut-free menu", category="loss_of_history",
)


@rs.tool("get_recipe")
def get_recipe(dish: str) -> list[str]:
    return RECIPES[dish]


@rs.tool("check_allergens")
def check_allergens(ingredients: dict, allergies: list[str]) -> dict:
    conflicts = {dish: [i for i in items if any(a in i for a in allergies)] for dish, items in ingredients.items()}
    return {"conflicts": {d: c for d, c in conflicts.items() if c}, "checked": len(ingredients)}


@rs.tool("price_menu")
def price_menu(dishes: list[str], guests: int) -> dict:
    per_head = round(sum(PRICES[d] for d in dishes), 2)
    return {"per_head_eur": per_head, "total_eur": round(per_head * guests, 2), "guests": guests}


@rs.agent("memory_summarizer")
def memory_summarizer(history: list[dict]) -> dict:
    reply = sc.llm([{"role": "system", "content": "Condense the conversation into the facts later agents need, as "
                                                  "JSON: event, date, guests, dietary, allergies, budget, style."}] + history,
                   '{"event": "EV-3092, Harbour Loft", "date": "2024-10-24", "guests": 45, '
                   '"dietary": "about one third vegetarian", "allergies": [], "budget_per_head_eur": 38, '
                   '"style": "Mediterranean buffet, lunch, drinks included"}')
    sc.mark_culprit(agent="memory_summarizer")
    return json.loads(reply)


@rs.agent("menu_planner")
def menu_planner(summary: dict) -> dict:
    reply = sc.llm(f"Plan a buffet menu for: {json.dumps(summary)}. One dish per line.",
                   "Chicken souvlaki with lemon potatoes\nRoasted vegetable orzo (V)\nPear, walnut and rocket salad "
                   "(V)\nBaklava-style pistachio squares\nSparkling water and lemonade")
    return {dish: get_recipe(dish) for dish in reply.splitlines()}


@rs.agent("allergen_checker")
def allergen_checker(menu: dict, summary: dict) -> bool:
    result = check_allergens(menu, summary["allergies"])
    sc.llm(f"Allergen check result: {result}",
           f"Checked all {result['checked']} items against the listed allergies: no conflicts. Two vegetarian "
           "dishes are marked (V), which covers the vegetarian third.")
    return not result["conflicts"]


@rs.agent("quoting")
def quoting(menu: dict, summary: dict) -> dict:
    quote = price_menu(list(menu), summary["guests"])
    sc.llm(f"Write the quote e-mail: {quote}, menu {list(menu)}",
           f"Here's the proposed Mediterranean buffet for EV-3092 on 24 Oct: {', '.join(menu)}. "
           f"EUR {quote['per_head_eur']:.2f} per head, EUR {quote['total_eur']:,.2f} for 45 guests, within your "
           "EUR 38 budget.")
    return {"menu": list(menu), **quote}


def app(sc):
    summary = memory_summarizer(HISTORY)
    menu = menu_planner(summary)
    allergen_checker(menu, summary)
    return quoting(menu, summary)


def check(answer) -> tuple[bool, str]:
    nuts = sorted({i for d in answer["menu"] for i in RECIPES[d] if i in TREE_NUTS})
    if not nuts:
        return True, "nut-free menu"
    return False, f"menu contains tree nuts ({', '.join(nuts)}) although a guest has a severe tree-nut allergy"


if __name__ == "__main__":
    sc.main(app, check)
