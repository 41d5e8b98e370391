"""Catering kitchen assistant: recipe_fetcher -> scaler -> converter -> shopper.

The brioche recipe (8 rolls) is scaled to 20 rolls (x2.5) and every ingredient is converted to grams
by the ``to_grams`` tool, one call per ingredient. The tool's mass table has a typo for pounds
(435.59 g instead of 453.59 g), so only the butter (1.25 lb after scaling) comes back wrong. The
scaler's factor, the other six conversions and the shopper's rounding up to pack sizes are all
right; the butter quantity on the shopping list is about 4% short.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, math

from harness import Scenario
import rootspan.tracer as rs

RECIPE = {"id": "RCP-0318", "title": "Brioche rolls", "yield": 8, "ingredients": [
    {"item": "bread flour", "qty": 4, "unit": "cup"}, {"item": "whole milk", "qty": 0.5, "unit": "cup"},
    {"item": "unsalted butter", "qty": 0.5, "unit": "lb"}, {"item": "granulated sugar", "qty": 0.25, "unit": "cup"}, {"item": "instant yeast", "qty": 2.25, "unit": "tsp"},
    {"item": "fine salt", "qty": 1.5, "unit": "tsp"}, {"item": "eggs", "qty": 4, "unit": "each"}]}
MASS = {"g": 1.0, "kg": 1000.0, "oz": 28.35, "lb": 435.59}
PER_CUP = {"bread flour": 127.0, "whole milk": 245.0, "granulated sugar": 200.0}
PER_TSP = {"instant yeast": 3.1, "fine salt": 6.0}
PER_EACH = {"eggs": 50.0}
PACKS = {"unsalted butter": 250, "bread flour": 1500, "granulated sugar": 1000, "whole milk": 1000}
sc = Scenario(
    "brioche-pound-constant", klass="provenance",
    task="Scale brioche recipe RCP-0318 (makes 8 rolls) to 20 rolls for Saturday's catering order and give the "
         "shopping list in grams.",
    description="the to_grams tool converts pounds with 435.59 g/lb, so the butter comes out 4% short",
    expected={"unsalted butter": 567}, category="tool_wrong_result",
)


@rs.tool("get_recipe")
def get_recipe(recipe_id: str) -> dict:
    return RECIPE


@rs.tool("to_grams")
def to_grams(item: str, qty: float, unit: str) -> float:
    if unit in MASS:
        if unit == "lb":
            sc.mark_culprit(agent=None)
        return round(qty * MASS[unit], 1)
    table = {"cup": PER_CUP, "tsp": PER_TSP, "tbsp": {k: v * 3 for k, v in PER_TSP.items()}, "each": PER_EACH}[unit]
    return round(qty * table[item], 1)


@rs.agent("recipe_fetcher")
def recipe_fetcher(task: str) -> dict:
    return get_recipe("RCP-0318")


@rs.agent("scaler")
def scaler(recipe: dict) -> list:
    reply = sc.llm(f"Recipe yields {recipe['yield']}; order is for 20. What scale factor?",
                   "20 / 8 = **2.5**. Multiply every ingredient by 2.5; eggs scale to 10 whole eggs.")
    factor = float(reply.split("**")[1])
    return [{**i, "qty": i["qty"] * factor} for i in recipe["ingredients"]]


@rs.agent("converter")
def converter(scaled: list) -> dict:
    return {i["item"]: to_grams(i["item"], i["qty"], i["unit"]) for i in scaled}


@rs.agent("shopper")
def shopper(grams: dict) -> dict:
    lines = []
    for item, g in grams.items():
        packs = math.ceil(g / PACKS[item]) if item in PACKS else None
        lines.append(f"| {item} | {g:,.0f} g | {f'{packs} x {PACKS[item]} g' if packs else 'from stock'} |")
    sc.llm(f"Format the shopping list for Saturday (20 brioche rolls):\n{json.dumps(grams)}",
           "### Shopping list: brioche x20 (RCP-0318)\n| Ingredient | Needed | Buy |\n|---|---|---|\n" + "\n".join(lines))
    return {k: round(v) for k, v in grams.items()}


def app(sc):
    scaled = scaler(recipe_fetcher(sc.task))
    return shopper(converter(scaled))


def check(answer):
    reference = 0.5 * 2.5 * 453.59
    got = answer["unsalted butter"]
    if abs(got - reference) / reference > 0.01:
        return False, f"butter {got} g; 1.25 lb is {reference:.0f} g"
    return True, "quantities match the reference conversion"


if __name__ == "__main__":
    sc.main(app, check)
