"""The demo's synthetic task, arithmetic word problems, and the prompt formats its agents speak.

One module holds both so that the training script and the demo team can never disagree about a
prompt: the model is trained on exactly the strings ``planner_prompt`` & co. build at run time.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

NAMES = ("Ann", "Bob", "Cy", "Dee", "Eve", "Finn", "Gus", "Ivy")
ITEMS = ("apples", "pens", "cards", "coins", "books", "eggs")

# Every character the model may read or write; the tokenizer is built from this string.
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:|>?+-*()"

EOS = "\n"
TOOL_ERROR_RESULT = "error"


@dataclass(frozen=True)
class Task:
    """One word problem with the expression a correct plan extracts and its value."""

    question: str
    expression: str
    answer: int


def _one_step(rng: random.Random, name: str, item: str) -> tuple[str, str]:
    kind = rng.choice(("add", "sub", "mul"))
    if kind == "add":
        a, b = rng.randint(2, 60), rng.randint(2, 40)
        return f"{name} has {a} {item}. {name} gets {b} more.", f"{a}+{b}"
    if kind == "sub":
        a = rng.randint(10, 90)
        b = rng.randint(1, a - 1)
        return f"{name} has {a} {item}. {name} gives away {b}.", f"{a}-{b}"
    a, b = rng.randint(2, 12), rng.randint(2, 12)
    return f"{name} has {a} boxes of {b} {item}.", f"{a}*{b}"


def make_task(rng: random.Random) -> Task:
    """A one- or two-operation problem; answers stay positive so every plan is checkable."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    text, expression = _one_step(rng, name, item)
    if rng.random() < 0.4:
        value = evaluate(expression)
        if rng.random() < 0.5 or value < 3:
            c = rng.randint(2, 30)
            text += f" Then {name} gets {c} more."
            expression += f"+{c}"
        else:
            c = rng.randint(1, min(value - 1, 40))
            text += f" Then {name} gives away {c}."
            expression += f"-{c}"
    question = f"{text} How many {item}?"
    return Task(question=question, expression=expression, answer=evaluate(expression))


def make_tasks(count: int, seed: int) -> list[Task]:
    rng = random.Random(seed)
    return [make_task(rng) for _ in range(count)]


_EXPRESSION = re.compile(r"^\d+(?:[+\-*]\d+)*$")


def is_expression(text: str) -> bool:
    return bool(_EXPRESSION.match(text))


def evaluate(expression: str) -> int:
    """Integer value of a +,-,* expression with the usual precedence (no eval of untrusted text)."""
    if not is_expression(expression):
        raise ValueError(f"not an arithmetic expression: {expression!r}")
    total = 0
    for term in re.split(r"(?=[+-])", expression):
        if not term:
            continue
        sign = -1 if term[0] == "-" else 1
        product = 1
        for factor in term.lstrip("+-").split("*"):
            product *= int(factor)
        total += sign * product
    return total


def numbers_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


# ---- prompt formats: prompt -> completion (the completion ends with EOS) ------------------------

def planner_prompt(question: str) -> str:
    return f"Q:{question}\nP:"


def planner_completion(expression: str, handoff: str = "solver") -> str:
    return f"{expression}>{handoff}"


def solver_call_prompt(plan: str) -> str:
    return f"S:{plan}\nT:"


def solver_call_completion(expression: str) -> str:
    return f"calc {expression}"


def solver_answer_prompt(plan: str, call: str, result: str) -> str:
    return f"S:{plan}\nT:{call}\nR:{result}\nA:"


def solver_answer_completion(result: str, handoff: str = "verifier") -> str:
    answer = result if result.lstrip("-").isdigit() else "?"
    return f"{answer}>{handoff}"


def verifier_prompt(question: str, plan: str, answer: str) -> str:
    return f"V:{question}|{plan}|{answer}\nJ:"


def verifier_completion(accept: bool, answer: str) -> str:
    return f"ok {answer}" if accept else "no"


def split_handoff(text: str) -> tuple[str, str | None]:
    """'14>verifier' -> ('14', 'verifier'); text without '>' has no handoff."""
    body, sep, target = text.partition(">")
    return body.strip(), (target.strip() or None) if sep else None
