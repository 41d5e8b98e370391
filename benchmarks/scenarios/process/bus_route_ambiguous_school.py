"""School bus route planning: "Lincoln" matches two schools and the planner picks one without asking.

A request agent reads the transportation coordinator's ticket, a directory agent looks up schools
named Lincoln (the first query hits a stale read replica and is retried), a route planner builds
morning routes with the routing engine, and a dispatcher publishes them. The directory returns two
matches, Lincoln Elementary (LES-118) and Lincoln Middle (LMS-204); the planner's instructions say
to ask the requester when a school name is ambiguous, but it assumes the elementary school. The
coordinator, Priya Shah, runs transport for Lincoln Middle, whose bell time is 07:50.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

SCHOOLS = [
    {"id": "LES-118", "name": "Lincoln Elementary School", "bell": "08:35", "address": "410 Maple Ave", "riders": 212},
    {"id": "LMS-204", "name": "Lincoln Middle School", "bell": "07:50", "address": "1900 Ridge Rd", "riders": 348},
]
REQUESTER = {"user": "pshah", "name": "Priya Shah", "role": "transportation coordinator", "campus": "LMS-204"}
_dir = {"n": 0}

sc = Scenario(
    "bus-route-ambiguous-school", klass="process",
    task="Ticket TR-6613 from pshah: 'Please redo the morning bus routes for Lincoln starting Monday 23 Sep; "
         "the Ridge Rd bridge closure adds ~10 minutes on the north side.'",
    description="The school name matches two campuses; the route planner assumes Lincoln Elementary instead of "
                "asking, and publishes routes for the wrong school.",
    expected={"school_id": "LMS-204", "routes": 6}, category="no_clarification",
)


@rs.tool("school_directory_search")
def school_directory_search(name: str) -> dict:
    _dir["n"] += 1
    if _dir["n"] == 1:
        raise RuntimeError("replica sis-ro-3 lag 412s exceeds max_staleness 60s; query rejected")
    return {"query": name, "matches": SCHOOLS, "total": 2}


@rs.tool("routing_engine_solve")
def routing_engine_solve(school_id: str, bell: str, riders: int, closures: list) -> dict:
    n = 4 if school_id == "LES-118" else 6
    return {"school_id": school_id, "solver": "vrp-ortools-9.10", "status": "OPTIMAL",
            "routes": [{"bus": f"B-{300 + i}", "stops": 11 + i, "first_pickup": f"0{6 + (i % 2)}:{10 + i * 4:02d}",
                        "arrive": bell} for i in range(n)],
            "closures_applied": closures, "riders": riders}


@rs.tool("publish_routes")
def publish_routes(school_id: str, effective: str, plan_id: str) -> dict:
    return {"published": True, "school_id": school_id, "effective": effective, "plan_id": plan_id,
            "parent_notices_queued": 1}


@rs.agent("request_agent")
def request_agent(task: str) -> dict:
    sc.llm(f"Extract the request: {task}",
           "School: 'Lincoln'. Effective: 2024-09-23. Change: Ridge Rd bridge closure, +10 min north side. "
           "Requester: pshah.")
    return {"school": "Lincoln", "effective": "2024-09-23", "closures": ["Ridge Rd bridge"], "requester": "pshah"}


@rs.agent("directory_agent")
def directory_agent(req: dict) -> dict:
    for _ in range(3):
        try:
            return school_directory_search(req["school"])
        except RuntimeError:
            continue


@rs.agent("route_planner")
def route_planner(req: dict, found: dict) -> dict:
    reply = sc.llm(
        [{"role": "system", "content": "Plan morning routes. If a school name matches more than one campus, ask the "
                                       "requester which one before planning (reply ASK: <question>)."},
         {"role": "user", "content": json.dumps({"request": req, "directory": found})}],
        '{"school_id": "LES-118", "note": "Lincoln most likely refers to Lincoln Elementary; planning for bell 08:35."}')
    sc.mark_culprit(agent="route_planner")
    pick = json.loads(reply)["school_id"]
    school = next(s for s in found["matches"] if s["id"] == pick)
    plan = routing_engine_solve(school["id"], school["bell"], school["riders"], req["closures"])
    sc.llm(f"Sanity-check the plan: {json.dumps(plan)}",
           f"{len(plan['routes'])} routes, all arrive by {school['bell']}, closure applied. Plan OK.")
    return plan


@rs.agent("dispatcher")
def dispatcher(req: dict, plan: dict) -> dict:
    publish_routes(plan["school_id"], req["effective"], "RP-2024-0923-01")
    sc.llm(f"Reply to {req['requester']} on TR-6613",
           f"Hi Priya, the new morning routes for Lincoln are published for Monday 23 Sep ({len(plan['routes'])} "
           "buses, Ridge Rd closure accounted for). Parent notices go out tonight.")
    return {"school_id": plan["school_id"], "routes": len(plan["routes"])}


def app(sc):
    req = request_agent(sc.task)
    found = directory_agent(req)
    return dispatcher(req, route_planner(req, found))


def check(answer) -> tuple[bool, str]:
    if answer == sc.expected:
        return True, "routes published for the requester's campus"
    return False, (f"routes published for {answer['school_id']}; the requester coordinates {REQUESTER['campus']} "
                   "(Lincoln Middle, bell 07:50)")


if __name__ == "__main__":
    sc.main(app, check)
