"""SMS campaign, model calls and tools traced with OpenInference: brief -> copywriter -> localizer -> compliance -> scheduler.

Each message must fit one 160-character GSM-7 segment and end with the opt-out line. The
copywriter's English text is 135 characters and its length check passes. The localizer's German
version restates every element, including the free-shipping line, and runs to 166 characters. The
compliance check (opt-out wording and quiet hours) passes, and the scheduler correctly prices the
German send as two segments per recipient.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, math

from opentelemetry import trace
from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes

from harness import Scenario
import rootspan.tracer as rs

tracer = OITracer(trace.get_tracer("campaign-studio"), config=TraceConfig())
EN = ("FLASH SALE: 30% off all winter jackets today only at Nordtrail.com with code BF30. Free shipping over $50. "
      "Ends midnight. STOP to 78455")
DE = ("BLITZ-ANGEBOT: Nur heute 30 % Rabatt auf alle Winterjacken bei Nordtrail.com mit dem Code BF30. Gratisversand "
      "ab 50 EUR. Endet um Mitternacht. Abmelden: STOP an 78455")
AUDIENCE = {"en-US": 48210, "de-DE": 17935}
sc = Scenario(
    "sms-localized-too-long", klass="constraint",
    task="Write the Black Friday SMS for campaign CMP-2024-11-BF in English (en-US) and German (de-DE): 30% off winter "
         "jackets today with code BF30, free shipping over $50 / 50 EUR. Each message max 160 characters (one GSM-7 "
         "segment) and must end with the opt-out: 'STOP to 78455' / 'Abmelden: STOP an 78455'. Schedule both for 2024-11-29 10:00 local.",
    description="the German localisation is 166 characters, over the 160-character single-segment limit",
    category="disobey_task_spec",
)


def chat(system: str, prompt: str, reply: str) -> str:
    with tracer.start_as_current_span("ChatCompletion", openinference_span_kind="llm") as span:
        span.set_attributes(get_llm_attributes(
            provider="openai", model_name="gpt-4o-mini-2024-07-18",
            input_messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            output_messages=[{"role": "assistant", "content": reply}],
            token_count={"prompt": (len(system) + len(prompt)) // 4, "completion": len(reply) // 4}))
        span.set_input(prompt)
        span.set_output(reply)
    return reply


def _segments(text: str) -> int:
    return 1 if len(text) <= 160 else math.ceil(len(text) / 153)


@tracer.tool(name="sms_length", description="Count characters and GSM-7 segments")
def sms_length(text: str) -> dict:
    return {"chars": len(text), "segments": _segments(text)}


@tracer.tool(name="compliance_check", description="Opt-out wording and quiet-hours rules")
def compliance_check(text: str, locale: str, send_at: str) -> dict:
    required = {"en-US": "STOP to 78455", "de-DE": "Abmelden: STOP an 78455"}[locale]
    hour = int(send_at[11:13])
    return {"locale": locale, "opt_out_ok": text.endswith(required), "quiet_hours_ok": 8 <= hour < 21}


@tracer.tool(name="schedule_send", description="Schedule an SMS batch")
def schedule_send(campaign: str, locale: str, text: str, send_at: str, recipients: int) -> dict:
    segments = _segments(text)
    return {"batch_id": f"{campaign}-{locale}", "locale": locale, "segments": segments,
            "billable_segments": segments * recipients, "send_at": send_at, "status": "scheduled"}


def app(sc):
    with rs.agent_span("brief"):
        brief = json.loads(chat("Extract the campaign brief as JSON.", sc.task,
                                '{"campaign": "CMP-2024-11-BF", "offer": "30% off winter jackets", "code": "BF30", '
                                '"locales": ["en-US", "de-DE"], "max_chars": 160, "send_at": "2024-11-29T10:00"}'))
    with rs.agent_span("copywriter"):
        en = chat("You write promotional SMS.", f"Brief: {json.dumps(brief)}", EN)
        sms_length(en)
        rs.record_output(en)
    with rs.agent_span("localizer"):
        de = chat("You localise marketing copy into German for the de-DE market.",
                  f"Translate for de-DE, keep code, offer and opt-out 'Abmelden: STOP an 78455':\n{en}", DE)
        sc.mark_culprit(agent="localizer")
        rs.record_output(de)
    texts = {"en-US": en, "de-DE": de}
    with rs.agent_span("compliance"):
        checks = [compliance_check(t, loc, brief["send_at"]) for loc, t in texts.items()]
        rs.record_output(checks)
    with rs.agent_span("scheduler"):
        batches = [schedule_send(brief["campaign"], loc, t, brief["send_at"], AUDIENCE[loc]) for loc, t in texts.items()]
        rs.record_output(batches)
    return texts


def check(answer):
    long = {loc: len(t) for loc, t in answer.items() if len(t) > 160}
    return (not long, f"over 160 characters: {long}" if long else "ok")


if __name__ == "__main__":
    sc.main(app, check)
