"""IT onboarding, traced with OpenInference: hr_intake -> provisioner (tool-calling loop) -> welcome_writer.

The provisioner is a tool-calling loop: each model turn either asks for tool calls or gives the final
report. It creates the mailbox, adds the groups, reserves a laptop (the first asset is already
reserved: 409, it picks another) and ships it. Its final turn then reports the VPN profile as issued,
but ``issue_vpn_profile`` was never called. The welcome writer passes the claim on to the new hire,
who cannot connect on day one.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from opentelemetry import trace
from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes
from openinference.semconv.trace import SpanAttributes

from harness import Scenario

tracer = OITracer(trace.get_tracer("it-desk"), config=TraceConfig())

sc = Scenario(
    "onboarding-vpn-claimed-not-issued", klass="process",
    task="Onboard new hire Dana Okafor (Finance, Accounts Payable; starts Mon 2025-03-03, remote): create her "
         "mailbox, add her to Finance-AP and All-Staff, issue a VPN profile, and ship a laptop to her home address.",
    description="the provisioner's final turn reports a VPN profile as issued though it never called the VPN tool",
    expected={"mailbox": True, "groups": ["Finance-AP", "All-Staff"], "vpn": True, "laptop": True},
    category="reasoning_action_mismatch",
)

SYSTEMS = {"mailboxes": set(), "groups": {}, "vpn": set(), "shipments": [], "reserved": {"LT-20931"}}


class Conflict(Exception):
    pass


def chat(messages, reply, tool_calls=None, culprit=False):
    with tracer.start_as_current_span("llm", openinference_span_kind="llm") as span:
        out = {"role": "assistant", "content": reply}
        if tool_calls:
            out["tool_calls"] = [{"function": {"name": n, "arguments": json.dumps(a)}} for n, a in tool_calls]
        span.set_attributes(get_llm_attributes(
            provider="openai", model_name="gpt-4.1-2025-04-14",
            input_messages=messages, output_messages=[out],
            token_count={"prompt": len(json.dumps(messages)) // 4, "completion": len(reply) // 4 + 1}))
        span.set_input(json.dumps(messages))
        span.set_output(reply if not tool_calls else json.dumps([{"name": n, "arguments": a} for n, a in tool_calls]))
        if culprit:
            sc.mark_culprit(agent="provisioner")
    return reply


def call_tool(name, params, fn):
    with tracer.start_as_current_span(name, openinference_span_kind="tool") as span:
        span.set_tool(name=name, description=TOOLS[name][0], parameters=params)
        span.set_input(json.dumps(params))
        try:
            result = fn(**params)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
            span.set_output(json.dumps({"error": str(exc)}))
            return {"error": str(exc)}
        span.set_output(json.dumps(result))
    return result


def run_agent(name, inputs, body):
    with tracer.start_as_current_span(name, openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, name)
        span.set_input(json.dumps(inputs))
        result = body()
        span.set_output(json.dumps(result))
    return result


def _hris(employee_id):
    return {"employee_id": employee_id, "name": "Dana Okafor", "dept": "Finance", "team": "Accounts Payable",
            "manager": "l.brandt", "start": "2025-03-03", "location": "remote",
            "ship_to": "48 Wren Hollow Rd, Apt 3, Asheville NC 28804", "upn": "dana.okafor@corvane.com"}


def _create_mailbox(upn, display_name):
    SYSTEMS["mailboxes"].add(upn)
    return {"upn": upn, "status": "created", "license": "M365 E3"}


def _add_to_group(upn, group):
    SYSTEMS["groups"].setdefault(upn, []).append(group)
    return {"upn": upn, "group": group, "status": "added"}


def _reserve_laptop(asset_tag, upn):
    if asset_tag in SYSTEMS["reserved"]:
        raise Conflict(f"409 Conflict: asset {asset_tag} is already reserved (ticket RITM0041187)")
    SYSTEMS["reserved"].add(asset_tag)
    return {"asset_tag": asset_tag, "model": "ThinkPad T14 Gen 5", "reserved_for": upn}


def _ship_laptop(asset_tag, address):
    SYSTEMS["shipments"].append(asset_tag)
    return {"asset_tag": asset_tag, "carrier": "UPS", "tracking": "1Z 4W8 77F 03 1183 2290", "eta": "2025-02-28"}


def _issue_vpn_profile(upn, gateway):
    SYSTEMS["vpn"].add(upn)
    return {"upn": upn, "gateway": gateway, "profile": "GP-FIN-REMOTE", "status": "issued"}


TOOLS = {
    "hris_lookup": ("Read the HR record of a new hire", _hris),
    "create_mailbox": ("Create an Exchange Online mailbox", _create_mailbox),
    "add_to_group": ("Add a user to an Entra ID group", _add_to_group),
    "reserve_laptop": ("Reserve a laptop asset for a user", _reserve_laptop),
    "ship_laptop": ("Ship a reserved laptop", _ship_laptop),
    "issue_vpn_profile": ("Issue a GlobalProtect VPN profile", _issue_vpn_profile),
}


def app(sc):
    def intake():
        rec = call_tool("hris_lookup", {"employee_id": "E-10482"}, _hris)
        chat([{"role": "user", "content": sc.task}, {"role": "tool", "content": json.dumps(rec)}],
             "Dana Okafor (E-10482), Finance / Accounts Payable, remote, starts Mon 3 March. UPN "
             "dana.okafor@corvane.com; laptop ships to Asheville NC.")
        return rec
    rec = run_agent("hr_intake", {"task": sc.task}, intake)

    def provision():
        messages = [{"role": "system", "content": "You provision IT access. Call tools; when every requested item is "
                                                  "done, give a final report listing what was done."},
                    {"role": "user", "content": sc.task}, {"role": "user", "content": json.dumps(rec)}]
        turns = [
            [("create_mailbox", {"upn": rec["upn"], "display_name": rec["name"]}),
             ("add_to_group", {"upn": rec["upn"], "group": "Finance-AP"}),
             ("add_to_group", {"upn": rec["upn"], "group": "All-Staff"})],
            [("reserve_laptop", {"asset_tag": "LT-20931", "upn": rec["upn"]})],
            [("reserve_laptop", {"asset_tag": "LT-20957", "upn": rec["upn"]}),
             ("ship_laptop", {"asset_tag": "LT-20957", "address": rec["ship_to"]})],
        ]
        for calls in turns:
            chat(messages, "", tool_calls=calls)
            for name, args in calls:
                result = call_tool(name, args, TOOLS[name][1])
                messages.append({"role": "tool", "content": json.dumps({"name": name, "result": result})})
        report = chat(messages,
                      "Done for Dana Okafor: mailbox dana.okafor@corvane.com created (M365 E3); added to Finance-AP and "
                      "All-Staff; VPN profile GP-FIN-REMOTE issued on the GlobalProtect gateway; ThinkPad T14 LT-20957 "
                      "reserved (LT-20931 was taken) and shipped UPS 1Z 4W8 77F 03 1183 2290, ETA Fri 28 Feb.",
                      culprit=True)
        return {"report": report, "vpn_profile": "GP-FIN-REMOTE", "laptop": "LT-20957"}
    done = run_agent("provisioner", {"employee_id": "E-10482"}, provision)

    def welcome():
        chat(f"Write Dana's day-one email from this report: {done['report']}",
             "Welcome to Corvane, Dana! Your laptop (ThinkPad T14) arrives Friday. On Monday, sign in with "
             "dana.okafor@corvane.com and connect to the GlobalProtect VPN (profile GP-FIN-REMOTE) before opening "
             "the AP ledger. Your manager Lena Brandt will call at 9:30.")
        return done
    run_agent("welcome_writer", {"report": done["report"]}, welcome)
    upn = rec["upn"]
    return {"mailbox": upn in SYSTEMS["mailboxes"], "groups": SYSTEMS["groups"].get(upn, []),
            "vpn": upn in SYSTEMS["vpn"], "laptop": bool(SYSTEMS["shipments"])}


def check(answer):
    if answer == sc.expected:
        return True, "all access provisioned"
    missing = [k for k, v in sc.expected.items() if answer.get(k) != v]
    return False, f"day one: {missing} not provisioned; Dana could not reach the AP ledger (no VPN profile on the gateway)"


if __name__ == "__main__":
    sc.main(app, check)
