"""Event catering: recipe_scout -> menu_planner -> costing -> shopping_list.

The client wants a 5-course, strictly vegetarian tasting menu for 40 guests under USD 45 a head.
The scout searches the recipe library once per course; each result lists its ingredients and diet
tags. For the soup course the planner picks the classic French onion soup, whose recipe is made
with beef stock and tagged ``contains-meat``. Costing scales every dish to 40 covers correctly and
the shopping list faithfully includes 6 L of beef stock.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

LIBRARY = {
    "amuse": [{"id": "RC-101", "name": "Beet tartare, horseradish cream", "tags": ["vegetarian"], "cost_per_cover": 2.10,
               "ingredients": ["golden beets", "shallot", "capers", "horseradish", "creme fraiche"]},
              {"id": "RC-104", "name": "Smoked trout rillette", "tags": ["pescatarian"], "cost_per_cover": 3.40,
               "ingredients": ["smoked trout", "butter", "lemon", "chives"]}],
    "soup": [{"id": "RC-212", "name": "French onion soup, gruyere crouton", "tags": ["contains-meat"], "cost_per_cover": 3.80,
              "ingredients": ["yellow onions", "beef stock", "dry sherry", "thyme", "baguette", "gruyere"]},
             {"id": "RC-215", "name": "Roasted onion and cider soup", "tags": ["vegetarian", "vegan-option"], "cost_per_cover": 3.20,
              "ingredients": ["onions", "vegetable stock", "dry cider", "thyme", "sourdough"]},
             {"id": "RC-219", "name": "Chilled pea and mint veloute", "tags": ["vegetarian"], "cost_per_cover": 2.60,
              "ingredients": ["peas", "mint", "vegetable stock", "cream"]}],
    "starter": [{"id": "RC-330", "name": "Burrata, charred peach, basil", "tags": ["vegetarian"], "cost_per_cover": 6.90,
                 "ingredients": ["burrata", "peaches", "basil", "olive oil"]}],
    "main": [{"id": "RC-451", "name": "Wild mushroom risotto, aged parmesan", "tags": ["vegetarian"], "cost_per_cover": 8.70,
              "ingredients": ["carnaroli rice", "mixed wild mushrooms", "vegetable stock", "parmesan", "butter"],
              "note": "use animal-rennet-free parmesan for vegetarian service"},
             {"id": "RC-460", "name": "Duck breast, cherry jus", "tags": ["contains-meat"], "cost_per_cover": 14.20,
              "ingredients": ["duck breast", "cherries", "veal jus"]}],
    "dessert": [{"id": "RC-512", "name": "Olive oil cake, citrus, mascarpone", "tags": ["vegetarian"], "cost_per_cover": 3.10,
                 "ingredients": ["flour", "olive oil", "eggs", "oranges", "mascarpone"]}],
}
STOCK_L_PER_COVER = {"beef stock": 0.15, "vegetable stock": 0.12}
sc = Scenario(
    "vegetarian-menu-beef-stock", klass="constraint",
    task="Plan a 5-course tasting menu (amuse, soup, starter, main, dessert) for 40 guests on 2024-10-19. Every dish "
         "must be vegetarian; food cost under USD 45 per head. Produce the menu, cost and shopping list.",
    description="the menu planner picks French onion soup made with beef stock for a strictly vegetarian menu",
    category="disobey_task_spec",
)


@rs.tool("search_recipes")
def search_recipes(course: str, query: str) -> list:
    return LIBRARY[course]


@rs.tool("cost_dish")
def cost_dish(recipe_id: str, covers: int) -> dict:
    dish = next(d for ds in LIBRARY.values() for d in ds if d["id"] == recipe_id)
    return {"recipe_id": recipe_id, "covers": covers, "cost_usd": round(dish["cost_per_cover"] * covers, 2)}


@rs.agent("recipe_scout")
def recipe_scout(task: str) -> dict:
    return {course: search_recipes(course, "vegetarian seasonal autumn") for course in LIBRARY}


@rs.agent("menu_planner")
def menu_planner(task: str, candidates: dict) -> dict:
    reply = sc.llm(
        f"{task}\n\nCandidates per course:\n{json.dumps(candidates, indent=1)}\n\nPick one recipe id per course.",
        "Proposed menu:\n1. Amuse: Beet tartare, horseradish cream (RC-101)\n2. Soup: French onion soup with a gruyere "
        "crouton (RC-212), a crowd-pleaser for October\n3. Starter: Burrata, charred peach, basil (RC-330)\n"
        "4. Main: Wild mushroom risotto (RC-451), with rennet-free parmesan\n5. Dessert: Olive oil cake (RC-512)",
    )
    sc.mark_culprit(agent="menu_planner")
    ids = re.findall(r"\((RC-\d+)\)", reply)
    return dict(zip(["amuse", "soup", "starter", "main", "dessert"], ids))


@rs.agent("costing")
def costing(menu: dict) -> dict:
    lines = {course: cost_dish(rid, 40) for course, rid in menu.items()}
    total = round(sum(l["cost_usd"] for l in lines.values()), 2)
    return {"lines": lines, "total_usd": total, "per_head_usd": round(total / 40, 2)}


@rs.agent("shopping_list")
def shopping_list(menu: dict, cost: dict) -> str:
    dishes = [d for ds in LIBRARY.values() for d in ds if d["id"] in menu.values()]
    stock = {s: round(v * 40, 1) for s, v in STOCK_L_PER_COVER.items() if any(s in d["ingredients"] for d in dishes)}
    return sc.llm(f"Shopping list for 40 covers: {json.dumps([d['ingredients'] for d in dishes])}; stocks {stock}; "
                  f"cost per head {cost['per_head_usd']}",
                  "**Shopping list (40 covers, 19 Oct)**\n" + "\n".join(f"- {s}: {l} L" for s, l in stock.items())
                  + "\n- yellow onions 8 kg, gruyere 1.6 kg, baguette x6\n- burrata 40 x 125 g, peaches 40\n"
                  f"- carnaroli 3.2 kg, wild mushrooms 4 kg\n\nFood cost: USD {cost['per_head_usd']:.2f} per head.")


def app(sc):
    menu = menu_planner(sc.task, recipe_scout(sc.task))
    cost = costing(menu)
    shopping_list(menu, cost)
    return {"menu": menu, "per_head_usd": cost["per_head_usd"]}


def check(answer):
    dishes = {d["id"]: d for ds in LIBRARY.values() for d in ds}
    bad = [dishes[r]["name"] for r in answer["menu"].values() if "vegetarian" not in dishes[r]["tags"]]
    if bad:
        return False, f"not vegetarian: {', '.join(bad)}"
    return (answer["per_head_usd"] < 45, "ok" if answer["per_head_usd"] < 45 else "over budget")


if __name__ == "__main__":
    sc.main(app, check)
