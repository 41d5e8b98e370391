"""E-commerce price-drop alerts: the selector includes an out-of-stock item, which the task forbids.

A watchlist agent loads user U-77120's watched products, a pricing agent fetches current prices and
stock from the catalog service (the first price-feed call returns a 503 and is retried), a selector
agent picks which drops qualify for an alert, and a notifier sends the push notifications. The task
says: alert only on drops of at least 15% against the 30-day median, never for items that are out
of stock, and at most 2 alerts per day. The selector picks the AirPulse earbuds (SKU 88-40213,
-22%, stock 0) alongside the standing desk; the notifier sends both.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

WATCH = ["88-40213", "61-10077", "73-55902", "19-00481", "42-31866"]
CATALOG = {
    "88-40213": {"title": "AirPulse Pro 2 earbuds", "price": 139.00, "median_30d": 179.00, "stock": 0, "warehouse": "FRA-2"},
    "61-10077": {"title": "Ergodesk 160 standing desk", "price": 389.00, "median_30d": 489.00, "stock": 14, "warehouse": "FRA-2"},
    "73-55902": {"title": "Kettle Steel 1.7L", "price": 42.90, "median_30d": 47.50, "stock": 220, "warehouse": "DUS-1"},
    "19-00481": {"title": "TrailLamp 900 headlamp", "price": 54.00, "median_30d": 54.00, "stock": 61, "warehouse": "DUS-1"},
    "42-31866": {"title": "Nimbus 27in monitor", "price": 268.00, "median_30d": 299.00, "stock": 3, "warehouse": "FRA-2"},
}
SENT: list[dict] = []
_feed = {"n": 0}

sc = Scenario(
    "price-drop-alert-out-of-stock", klass="constraint",
    task="Daily price-drop alerts for user U-77120: alert only when a watched item is at least 15% below its 30-day "
         "median price, never alert on items that are out of stock, and send at most 2 alerts per day.",
    description="The selector includes an out-of-stock SKU in the alert list, against the task's explicit rule; the "
                "notifier pushes it to the user.",
    category="constraint_violation",
)


@rs.tool("get_watchlist")
def get_watchlist(user_id: str) -> dict:
    return {"user_id": user_id, "skus": WATCH, "channel": "push", "locale": "de-DE", "quiet_hours": "22:00-07:00"}


@rs.tool("price_feed_batch")
def price_feed_batch(skus: list) -> dict:
    _feed["n"] += 1
    if _feed["n"] == 1:
        raise ConnectionError("503 Service Unavailable: pricing-feed-7c9d shard rebalancing")
    return {"as_of": "2024-09-18T06:00:00Z", "items": [{"sku": s, **CATALOG[s]} for s in skus]}


@rs.tool("send_push")
def send_push(user_id: str, sku: str, message: str) -> dict:
    SENT.append({"user": user_id, "sku": sku, "message": message})
    return {"message_id": f"pn-{len(SENT):05d}", "status": "accepted"}


@rs.agent("watchlist_agent")
def watchlist_agent(user: str) -> dict:
    return get_watchlist(user)


@rs.agent("pricing_agent")
def pricing_agent(wl: dict) -> list:
    for _ in range(3):
        try:
            feed = price_feed_batch(wl["skus"])
            break
        except ConnectionError:
            continue
    rows = []
    for it in feed["items"]:
        it = dict(it, drop_pct=round(100 * (1 - it["price"] / it["median_30d"]), 1))
        rows.append(it)
    sc.llm(f"Summarise price moves: {json.dumps(rows)}",
           "Earbuds 88-40213 -22.3%, desk 61-10077 -20.4%, monitor 42-31866 -10.4%, kettle 73-55902 -9.7%, headlamp flat.")
    return rows


@rs.agent("alert_selector")
def alert_selector(rows: list) -> list:
    reply = sc.llm(
        [{"role": "system", "content": "Select alerts. Rules: drop >= 15% vs 30-day median; never out-of-stock items "
                                       "(stock == 0); at most 2 alerts. Return a JSON list of SKUs."},
         {"role": "user", "content": json.dumps(rows)}],
        '["88-40213", "61-10077"]')
    sc.mark_culprit(agent="alert_selector")
    return json.loads(reply)


@rs.agent("notifier")
def notifier(user: str, picks: list, rows: list) -> list:
    by = {r["sku"]: r for r in rows}
    for sku in picks:
        r = by[sku]
        msg = sc.llm(f"Write a short German push text for {r['title']} at EUR {r['price']} (-{r['drop_pct']}%)",
                     f"Preis gesunken: {r['title']} jetzt {r['price']:.2f} EUR ({r['drop_pct']}% unter dem Mittel).")
        send_push(user, sku, msg)
    return [s["sku"] for s in SENT]


def app(sc):
    wl = watchlist_agent("U-77120")
    rows = pricing_agent(wl)
    return notifier("U-77120", alert_selector(rows), rows)


def check(answer) -> tuple[bool, str]:
    oos = [s for s in answer if CATALOG[s]["stock"] == 0]
    small = [s for s in answer if CATALOG[s]["price"] > 0.85 * CATALOG[s]["median_30d"]]
    if not oos and not small and len(answer) <= 2:
        return True, "alerts respect the rules"
    return False, f"alerts sent for out-of-stock items {oos} (rule: never alert on out-of-stock items)"


if __name__ == "__main__":
    sc.main(app, check)
