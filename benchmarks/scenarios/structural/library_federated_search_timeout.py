"""Library consortium hold desk, traced with OpenInference: desk_assistant -> catalog_agent -> hold_agent.

The consortium's federated search fans out to the four member catalogues with a 2.5 s budget and
returns whatever answered in time. Tonight Hillcrest and Eastgate (the two branches holding the book)
answer in 3-4 s, so the search returns the two empty branch answers as the full result. The catalog
agent reports "no copy in the consortium", and the hold agent files an inter-library loan request
instead of placing a local hold. Earlier the session token was refreshed after a 401 (recovered).
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from opentelemetry import trace
from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes
from openinference.semconv.trace import SpanAttributes

from harness import Scenario

tracer = OITracer(trace.get_tracer("library-desk"), config=TraceConfig())

sc = Scenario(
    "library-federated-search-timeout", klass="structural",
    task="Patron P-40718 (home branch Riverside) wants 'The Overstory' by Richard Powers, ISBN 9780393635522. "
         "Find a copy anywhere in the Riverbend consortium and place a hold for pickup at Riverside; only if no "
         "consortium copy exists, file an inter-library loan request.",
    description="the federated catalogue search drops the two branches that answered after its time budget and "
                "returns the rest as the complete result",
    expected={"action": "hold", "item_barcode": "31890004417725", "pickup": "Riverside"},
    category="timeout",
)

BRANCHES = {  # what each member catalogue has, and how long it takes to answer tonight (seconds)
    "Riverside": {"latency": 0.41, "items": []},
    "Northgate": {"latency": 0.88, "items": []},
    "Hillcrest": {"latency": 3.12, "items": [{"barcode": "31890004417725", "call_no": "FIC POWERS", "status": "On shelf"}]},
    "Eastgate": {"latency": 3.87, "items": [{"barcode": "31890004502211", "call_no": "FIC POWERS", "status": "Checked out, due 2025-05-02"}]},
}
BUDGET_S = 2.5
SESSION = {"token_ok": False}


def chat(prompt, reply):
    with tracer.start_as_current_span("llm", openinference_span_kind="llm") as span:
        span.set_attributes(get_llm_attributes(
            provider="openai", model_name="gpt-4o-2024-08-06",
            input_messages=[{"role": "user", "content": prompt}], output_messages=[{"role": "assistant", "content": reply}],
            token_count={"prompt": len(prompt) // 4, "completion": len(reply) // 4}))
        span.set_input(prompt)
        span.set_output(reply)
    return reply


def call_tool(name, description, params, fn):
    with tracer.start_as_current_span(name, openinference_span_kind="tool") as span:
        span.set_tool(name=name, description=description, parameters=params)
        span.set_input(json.dumps(params))
        try:
            result = fn(**params)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
            raise
        span.set_output(json.dumps(result))
    return result


def run_agent(name, inputs, body):
    with tracer.start_as_current_span(name, openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, name)
        span.set_input(json.dumps(inputs))
        result = body()
        span.set_output(json.dumps(result))
    return result


def _patron_lookup(patron_id):
    if not SESSION["token_ok"]:
        raise PermissionError("401 Unauthorized: ILS session token expired")
    return {"patron_id": patron_id, "name": "M. Adeyemi", "home_branch": "Riverside", "status": "active",
            "holds": 2, "hold_limit": 15, "fines_usd": 0.0}


def _refresh_token(client_id):
    SESSION["token_ok"] = True
    return {"client_id": client_id, "expires_in": 3600}


def _federated_search(isbn, title, scope):
    answered, hits = [], []
    for branch, cat in BRANCHES.items():
        if cat["latency"] > BUDGET_S:
            continue  # keep the desk responsive: late catalogues are skipped
        answered.append(branch)
        hits += [dict(item, branch=branch) for item in cat["items"]]
    sc.mark_culprit(agent=None)
    return {"isbn": isbn, "scope": scope, "total_hits": len(hits), "items": hits,
            "searched": answered, "elapsed_ms": 890}


def _place_ill_request(patron_id, isbn, title):
    return {"request_id": "ILL-2025-04417", "status": "submitted", "lender_search": "OCLC WorldShare",
            "estimated_days": "7-14"}


def app(sc):
    def desk():
        try:
            call_tool("patron_lookup", "Look up a patron record", {"patron_id": "P-40718"}, _patron_lookup)
        except PermissionError:
            call_tool("refresh_token", "Refresh the ILS session", {"client_id": "desk-07"}, _refresh_token)
        patron = call_tool("patron_lookup", "Look up a patron record", {"patron_id": "P-40718"}, _patron_lookup)
        chat(f"Patron: {json.dumps(patron)}. Request: {sc.task}",
             "Patron P-40718 is active at Riverside with 2 of 15 holds used and no fines. Next: search the "
             "consortium for ISBN 9780393635522.")
        return patron
    patron = run_agent("desk_assistant", {"task": sc.task}, desk)

    def catalog():
        res = call_tool("federated_search", "Search every Riverbend member catalogue",
                        {"isbn": "9780393635522", "title": "The Overstory", "scope": "consortium"}, _federated_search)
        chat(f"Search result: {json.dumps(res)}. Is a consortium copy available?",
             "The consortium search returned 0 items for ISBN 9780393635522, so no Riverbend library owns "
             "'The Overstory'. An inter-library loan request is the way to go.")
        return res
    found = run_agent("catalog_agent", {"isbn": "9780393635522"}, catalog)

    def hold():
        if found["items"]:
            return {"action": "hold", "item_barcode": found["items"][0]["barcode"], "pickup": patron["home_branch"]}
        req = call_tool("place_ill_request", "Request an item from outside the consortium",
                        {"patron_id": "P-40718", "isbn": "9780393635522", "title": "The Overstory"}, _place_ill_request)
        chat(f"Tell the patron: {json.dumps(req)}",
             "No Riverbend library has 'The Overstory', so I've requested it through inter-library loan "
             "(ILL-2025-04417). It usually arrives in 7-14 days; we'll email you when it's at Riverside.")
        return {"action": "ill", "request_id": req["request_id"], "pickup": patron["home_branch"]}
    return run_agent("hold_agent", {"found": found["total_hits"]}, hold)


def check(answer):
    if answer == sc.expected:
        return True, "hold placed on the consortium copy"
    return False, (f"filed {answer.get('action')} {answer.get('request_id', '')}, but Hillcrest has a copy on the "
                   "shelf (31890004417725): the patron waits two weeks and the consortium pays an ILL fee")


if __name__ == "__main__":
    sc.main(app, check)
