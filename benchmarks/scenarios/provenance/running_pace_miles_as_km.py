"""Running coach, traced with OpenInference: intake_coach -> pace_planner -> plan_writer.

The intake coach pulls the runner's last half marathon from the watch export (distance in miles,
average pace in min/mi) and extracts the average pace for the planner, in seconds per km. The model
copies 8:35 as 515 s/km without converting from per-mile. The pace planner derives race, tempo and
easy paces from it exactly as asked, and the writer formats them: every pace is about 60 % too slow.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json

from opentelemetry import trace
from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes
from openinference.semconv.trace import SpanAttributes

from harness import Scenario

tracer = OITracer(trace.get_tracer("coach-app"), config=TraceConfig())

sc = Scenario(
    "running-pace-miles-as-km", klass="provenance",
    task="Use my watch export of my last half marathon. For my next half, set race pace 5 % faster than that race's "
         "average pace; tempo = race pace + 10 s/km; easy = race pace + 75 s/km. Give every pace in min:sec per km.",
    description="the intake model reads the export's 8:35 min/mi average pace as 515 s per km",
    expected={"race": "5:04", "tempo": "5:14", "easy": "6:19"},
    category="tool_output_misread",
)

SPLITS = ["8:41", "8:33", "8:29", "8:31", "8:36", "8:30", "8:28", "8:34", "8:37", "8:39", "8:42", "8:40", "8:31"]


def chat(prompt, reply, culprit=False):
    with tracer.start_as_current_span("llm", openinference_span_kind="llm") as span:
        span.set_attributes(get_llm_attributes(
            provider="openai", model_name="gpt-4o-mini-2024-07-18",
            input_messages=[{"role": "user", "content": prompt}], output_messages=[{"role": "assistant", "content": reply}],
            token_count={"prompt": len(prompt) // 4, "completion": len(reply) // 4}))
        span.set_input(prompt)
        span.set_output(reply)
        if culprit:
            sc.mark_culprit(agent="intake_coach")
    return reply


def call_tool(name, description, params, fn):
    with tracer.start_as_current_span(name, openinference_span_kind="tool") as span:
        span.set_tool(name=name, description=description, parameters=params)
        span.set_input(json.dumps(params))
        result = fn(**params)
        span.set_output(json.dumps(result))
    return result


def run_agent(name, inputs, body):
    with tracer.start_as_current_span(name, openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, name)
        span.set_input(json.dumps(inputs))
        result = body()
        span.set_output(json.dumps(result))
    return result


def _watch_export(activity_id):
    return {"activity_id": activity_id, "name": "Riverfront Half Marathon", "date": "2025-04-27", "sport": "running",
            "distance": 13.11, "distance_unit": "mi", "moving_time": "1:52:30", "avg_pace": "8:35",
            "pace_unit": "min/mi", "avg_hr": 162, "max_hr": 181, "cadence_spm": 172, "elev_gain_ft": 187,
            "splits": [{"mile": i + 1, "pace": p} for i, p in enumerate(SPLITS)], "device": "FR-965 fw 19.18"}


def mmss(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def app(sc):
    def intake():
        export = call_tool("watch_export", "Fetch an activity from the runner's watch account",
                           {"activity_id": "A-1187204539"}, _watch_export)
        reply = chat(f"Task: {sc.task}\nActivity: {json.dumps(export)}\nReturn JSON with the race's average pace "
                     "in seconds per km as avg_pace_s_per_km.",
                     '{"race": "Riverfront Half Marathon", "finish": "1:52:30", "avg_pace_s_per_km": 515}',
                     culprit=True)
        return json.loads(reply)
    baseline = run_agent("intake_coach", {"task": sc.task}, intake)

    def plan():
        race = baseline["avg_pace_s_per_km"] * 0.95
        paces = {"race": mmss(race), "tempo": mmss(race + 10), "easy": mmss(race + 75)}
        chat(f"Baseline {baseline['avg_pace_s_per_km']} s/km. Paces: {json.dumps(paces)}. Add one line of advice.",
             f"Race pace {paces['race']}/km is a 5 % step up from your Riverfront average; keep tempo runs at "
             f"{paces['tempo']}/km and easy days at {paces['easy']}/km.")
        return paces
    paces = run_agent("pace_planner", baseline, plan)

    def write():
        chat(f"Write the runner's pace card: {json.dumps(paces)}",
             f"Your pace card for the next half:\n- Race: {paces['race']} /km\n- Tempo: {paces['tempo']} /km\n"
             f"- Easy: {paces['easy']} /km\nNail the first 5 km at race pace and don't chase the early downhill.")
        return paces
    return run_agent("plan_writer", paces, write)


def check(answer):
    if answer == sc.expected:
        return True, "pace card matches the runner's fitness"
    return False, (f"race pace {answer['race']}/km is slower than the runner's easy jogs; the runner finished the last "
                   "half in 1:52:30, about 5:20/km")


if __name__ == "__main__":
    sc.main(app, check)
