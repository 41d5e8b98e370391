"""Multi-turn flight booking chat: an expired session is "recovered" by starting over, and the constraints vanish.

Two user turns go through a session manager (which keeps the conversation state) and a booking
agent. In turn 1 the traveller gives the route, party, budget (EUR 1,400 total) and "no overnight
layovers"; the booking agent asks for dates. Between the turns the session cache entry expires.
In turn 2 the session manager finds the cache miss and, instead of rebuilding the context from the
stored transcript (get_transcript is one of its tools), starts a fresh session seeded only with the
latest message. The booking agent, seeing "12 to 26 Nov works", books the cheapest fare: a Doha
routing with a 14-hour overnight layover.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

CONV = "conv-7f3a-0912"
TRANSCRIPT: list[dict] = []
CACHE: dict = {}
FARES = [
    {"id": "LH714", "route": "MUC-HND nonstop", "total_eur": 1920, "layover_h": 0, "overnight": False},
    {"id": "TK1630/TK52", "route": "MUC-IST-NRT", "total_eur": 1310, "layover_h": 2.5, "overnight": False},
    {"id": "QR058/QR806", "route": "MUC-DOH-NRT", "total_eur": 1150, "layover_h": 14, "overnight": True},
]
USER_TURNS = [
    "Hi! Two adults, Munich to Tokyo in November, return. Our budget is EUR 1,400 total for both of us, and no "
    "overnight layovers please, we're travelling with a toddler.",
    "12 to 26 Nov works for us.",
]

sc = Scenario(
    "tokyo-flight-chat", klass="process",
    task=" / ".join(USER_TURNS),
    description="After a session-cache miss the session manager starts a fresh session with only the last message, "
                "so the booking ignores the budget and no-overnight constraints and books a 14 h overnight layover.",
    expected="TK1630/TK52", category="conversation_reset",
)


@rs.tool("load_session")
def load_session(conversation_id: str) -> dict:
    return CACHE.get(conversation_id, {"status": "miss", "detail": "session key expired (ttl 900s)"})


@rs.tool("save_session")
def save_session(conversation_id: str, messages: list[dict]) -> str:
    CACHE[conversation_id] = {"status": "hit", "messages": messages}
    return "ok"


@rs.tool("get_transcript")
def get_transcript(conversation_id: str) -> list[dict]:
    return list(TRANSCRIPT)


@rs.tool("search_fares")
def search_fares(origin: str, dest: str, out: str, back: str, adults: int) -> list[dict]:
    return FARES


@rs.tool("book_fare")
def book_fare(fare_id: str, adults: int) -> dict:
    return {"pnr": "X7K2QD", "fare": fare_id, "adults": adults}


@rs.agent("session_manager")
def session_manager(turn: int, message: str) -> list[dict]:
    TRANSCRIPT.append({"role": "user", "content": message})
    if turn == 1:
        context = [{"role": "user", "content": message}]
        save_session(CONV, context)
        return context
    state = load_session(CONV)
    sc.llm(f"Session lookup for {CONV} returned {state}. New user message: {message!r}. How do you continue?",
           "The cached session has expired. I'll open a new session for this conversation and continue from the "
           "user's latest message.")
    sc.mark_culprit(agent="session_manager")
    context = [{"role": "user", "content": message}]
    save_session(CONV, context)
    return context


@rs.agent("booking_agent")
def booking_agent(turn: int, context: list[dict]) -> dict | None:
    if turn == 1:
        reply = sc.llm(context, "Happy to help! Munich to Tokyo for two adults in November, within EUR 1,400 total "
                                "and without overnight layovers. Which dates are you thinking of?")
        TRANSCRIPT.append({"role": "assistant", "content": reply})
        return None
    fares = search_fares("MUC", "TYO", "2024-11-12", "2024-11-26", 2)
    choice = sc.llm(context + [{"role": "tool", "content": json.dumps(fares)}],
                    "Great, 12-26 November it is. The best value is Qatar Airways via Doha at EUR 1,150 for two "
                    "adults. Booking QR058/QR806 now.")
    fare_id = choice.rsplit("Booking ", 1)[1].split(" ", 1)[0]
    booking = book_fare(fare_id, 2)
    TRANSCRIPT.append({"role": "assistant", "content": choice})
    return booking


def app(sc):
    booking = None
    for turn, message in enumerate(USER_TURNS, start=1):
        context = session_manager(turn, message)
        booking = booking_agent(turn, context)
        if turn == 1:
            CACHE.clear()  # the traveller answers 20 minutes later; the 15-minute session key has expired
    return booking


def check(answer) -> tuple[bool, str]:
    fare = next(f for f in FARES if f["id"] == answer["fare"])
    problems = [p for p, bad in [("over the EUR 1,400 budget", fare["total_eur"] > 1400),
                                 ("overnight layover", fare["overnight"])] if bad]
    if not problems:
        return True, f"booked {fare['id']}"
    return False, f"booked {fare['id']} ({fare['route']}, EUR {fare['total_eur']}): " + ", ".join(problems)


if __name__ == "__main__":
    sc.main(app, check)
