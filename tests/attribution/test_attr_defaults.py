"""A tool call that returned all zeros among sibling calls with real figures: a swallowed failure's default."""

from __future__ import annotations

import json

from attr_builders import sid, span, trace

from rootspan.attribution.defaults import rule_zeroed_result
from rootspan.attribution.evidence import Weights
from rootspan.attribution.graph import build_graph

STOCK = {"HX-2207": (0, 0), "WS-0418": (30, 0), "DS-1150": (210, 40), "AN-3310": (12, 100)}


def _restock(stock: dict[str, tuple[int, int]], outcome: str = "failure"):
    """A stock checker asks the warehouse for each SKU; a purchaser orders what is below its reorder point."""
    spans = [
        span("run", 0, 100, op="invoke_workflow", input="Reorder every SKU below its reorder point.", rootspan__outcome=outcome),
        span("checker", 1, 50, "run", op="invoke_agent", agent="stock_checker"),
    ]
    for index, (sku, (on_hand, inbound)) in enumerate(stock.items()):
        spans.append(span(f"wms-{sku}", 2 + index, 3 + index, "checker", op="execute_tool", tool="warehouse_stock",
                          arguments=json.dumps({"sku": sku}), result=json.dumps({"sku": sku, "on_hand": on_hand, "inbound": inbound})))
    spans.append(span("purchaser", 51, 99, "run", op="invoke_agent", agent="purchaser", output="PO: HX-2207 x150"))
    return trace(*spans)


def _found(t):
    return list(rule_zeroed_result(build_graph(t), Weights()))


def test_the_all_zero_call_among_calls_with_figures_is_flagged() -> None:
    (item,) = _found(_restock(STOCK))
    assert item.span_id == sid("wms-HX-2207") and item.category == "tool_wrong_result"


def test_zeros_beside_figures_few_calls_or_a_success_are_not_flagged() -> None:
    assert _found(_restock({**STOCK, "HX-2207": (0, 150)})) == []  # nothing on hand, 150 inbound: real data
    assert _found(_restock(dict(list(STOCK.items())[:2]))) == []  # two calls: nothing to compare with
    assert _found(_restock({sku: (0, 0) for sku in STOCK})) == []  # every call zero: the store is empty
    assert _found(_restock(STOCK, outcome="success")) == []
