"""Compare a failing answer with the expected answer field by field, the way a reviewer reads a diff.

When both are structured (JSON, or the Python literal many agents print), the values that decide
the failure are the ones in the fields where they disagree: expected ``{"butter": 567}`` against an
answer listing seven ingredients points at the answer's butter, not at its flour. When the
expected answer is one scalar, the answer's values of the same kind and the closest magnitude are
the ones standing where it should be. Everything else in the answer is context.

Hand-written: a JSON diff library (deepdiff, jsondiff) reports changes between two documents of
the same shape; here the answer usually has more fields than the expected, and what we need is
the answer's side of each disagreeing leaf, as text the value extractor can read.
"""

from __future__ import annotations

import ast
import json
import math
from typing import Any

from rootspan.attribution.values import Value, extract

MAX_PARSE = 200_000  # characters: longer answers are not parsed as literals (ast is not linear)
Path = tuple[str, ...]


def parse_structured(text: str | None) -> Any | None:
    """The text as a JSON value or a Python literal; None when it is prose."""
    if not text:
        return None
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_PARSE or stripped[0] not in "[{\"'-0123456789tfnTFN":
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        pass
    if stripped[0] not in "[{":
        return None
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _leaves(data: Any, prefix: Path = (), depth: int = 0) -> dict[Path, Any]:
    """Leaf fields by path; a list of scalars is one leaf (a set of tags, a list of ids)."""
    if depth > 12:
        return {prefix: data}
    if isinstance(data, dict):
        found: dict[Path, Any] = {}
        for key, item in data.items():
            found.update(_leaves(item, prefix + (str(key).strip().lower(),), depth + 1))
        return found
    if isinstance(data, list) and any(isinstance(item, (dict, list)) for item in data):
        found = {}
        for index, item in enumerate(data):
            found.update(_leaves(item, prefix + (str(index),), depth + 1))
        return found
    return {prefix: data}


def _same(want: Any, got: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got or str(want).lower() == str(got).lower()
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(float(want), float(got), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(want, list) and isinstance(got, list):
        return sorted(map(_canonical, want)) == sorted(map(_canonical, got))
    return _canonical(want) == _canonical(got)


def _canonical(item: Any) -> str:
    text = item if isinstance(item, str) else json.dumps(item, sort_keys=True, default=str)
    return " ".join(text.lower().replace(",", "").split())


def _find(leaves: dict[Path, Any], path: Path) -> tuple[bool, Any]:
    """The answer's leaf at the expected path, else at the same key name anywhere (answers nest)."""
    if path in leaves:
        return True, leaves[path]
    same_name = [value for other, value in leaves.items() if other and path and other[-1] == path[-1]]
    if len(same_name) == 1:
        return True, same_name[0]
    return False, None


def disagreeing_fields(expected: str | None, answer: str) -> list[tuple[Path, Any, Any]] | None:
    """(path, expected leaf, answer leaf) where a structured answer disagrees with a structured
    expected answer; [] when every expected field agrees; None when either is not structured."""
    want = parse_structured(expected)
    got = parse_structured(answer)
    if not isinstance(want, (dict, list)) or not isinstance(got, (dict, list)):
        return None
    want_leaves = _leaves(want)
    got_leaves = _leaves(got)
    disagreeing = []
    for path, leaf in want_leaves.items():
        present, other = _find(got_leaves, path)
        if not present or not _same(leaf, other):
            disagreeing.append((path, leaf, other if present else None))
    return disagreeing


def leaf_values(leaf: Any) -> list[Value]:
    """The values of an answer's leaf, as the extractor reads them (ids and counts included: in
    a disagreeing field, a wrong tracking number or quantity is the claim)."""
    if leaf is None:
        return []
    if isinstance(leaf, (list, dict)):
        text = json.dumps(leaf, default=str)
    elif isinstance(leaf, bool):
        text = "true" if leaf else "false"
    else:
        text = str(leaf)
    values = extract(text)
    if not values and isinstance(leaf, str) and 0 < len(leaf.split()) <= 4:
        values = [Value("quoted", "q:" + " ".join(leaf.lower().split()), leaf, 0)]
    return values


def scalar_expected(expected: str | None) -> float | None:
    """The expected answer when it is one number ("14880.0", "$1,566")."""
    if not expected:
        return None
    values = [value for value in extract(expected) if value.number is not None]
    if len(values) != 1 or len(expected.strip()) > len(values[0].raw) + 4:
        return None
    return values[0].number


def closeness(value: Value, target: float) -> float:
    """How far a number is from the expected one, in orders of magnitude (0: the same size)."""
    if value.number is None or value.number == 0 or target == 0:
        return math.inf
    return abs(math.log10(abs(value.number) / abs(target)))
