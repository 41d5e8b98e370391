"""Engineering report with citations: researcher -> summariser -> writer -> editor.

The researcher searches the internal wiki and fetches three sources (one fetch fails with a 502
and is retried). The summariser condenses them into cited notes and attaches a "43%" p95 latency
reduction to RFC-0042, which only says latency dropped "noticeably" and that no production
numbers were collected. The writer restates the figure and correctly derives a 26% throughput
gain from 950 -> 1,200 req/s; the editor formats the references. The citation audit rejects it.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import re

from harness import Scenario
import rootspan.tracer as rs

WIKI = {
    "KB-12": ("Edge cache rollout postmortem (gateway v2.3.1)",
              "We enabled the regional edge cache with gateway v2.3.1 on 2024-03-11. During the 2024-03-18 load "
              "test each node sustained 1,200 requests/s, up from 950 requests/s on v2.2.7. Cache hit ratio settled "
              "at 71% after warm-up. Two nodes (gw-04, gw-09) needed the 4 GiB heap setting."),
    "RFC-0042": ("RFC-0042: Connection pooling for the gateway",
                 "Status: accepted. Pooling upstream connections (max 64 per host) removes the TLS handshake from "
                 "most requests. In staging, p95 latency dropped noticeably. We did not collect production numbers "
                 "before the rollout freeze; a follow-up measurement is tracked in OPS-1187."),
    "KB-31": ("Q1 2024 reliability review",
              "The 5xx error rate fell from 0.42% in January to 0.17% in March. Three incidents (INC-2291, INC-2304, "
              "INC-2317) were attributed to config drift and are closed. On-call load dropped from 14 to 9 pages/week."),
}
sc = Scenario(
    "invented-latency-figure", klass="provenance",
    task="Write a one-paragraph summary for the Q2 planning doc of what the edge cache, connection pooling "
         "and the reliability work achieved, citing the wiki page for every number.",
    description="the summariser attributes a 43% p95 latency cut to RFC-0042, which gives no number",
    category="hallucination",
)
_fetches = {"KB-31": 0}


@rs.tool("wiki_search")
def wiki_search(query: str) -> list:
    words = set(query.lower().split())
    hits = [{"id": k, "title": t, "snippet": body[:90]} for k, (t, body) in WIKI.items()
            if words & set(re.findall(r"[a-z]+", (t + " " + body).lower()))]
    return hits[:3]


@rs.tool("wiki_fetch")
def wiki_fetch(page_id: str) -> dict:
    if page_id in _fetches:
        _fetches[page_id] += 1
        if _fetches[page_id] == 1:
            raise ConnectionError("wiki.internal returned HTTP 502 Bad Gateway")
    title, body = WIKI[page_id]
    return {"id": page_id, "title": title, "body": body}


@rs.agent("researcher")
def researcher(task: str) -> list:
    queries = sc.llm(task, "Searches to run:\n1. edge cache rollout load test\n2. connection pooling latency\n"
                           "3. reliability review error rate").splitlines()[1:]
    pages, seen = [], set()
    for q in queries:
        for hit in wiki_search(q.split(". ", 1)[1]):
            if hit["id"] in seen:
                continue
            seen.add(hit["id"])
            for attempt in range(2):
                try:
                    pages.append(wiki_fetch(hit["id"]))
                    break
                except ConnectionError:
                    if attempt == 1:
                        raise
    return pages


@rs.agent("summariser")
def summariser(pages: list) -> str:
    sources = "\n\n".join(f"[{p['id']}] {p['title']}\n{p['body']}" for p in pages)
    notes = sc.llm(
        [{"role": "system", "content": "Condense the sources into bullet notes. Cite each fact as [ID]."},
         {"role": "user", "content": sources}],
        "- Edge cache (gateway v2.3.1): per-node throughput went from 950 to 1,200 requests/s in the "
        "2024-03-18 load test [KB-12]\n- Connection pooling: p95 latency reduced by 43% in staging [RFC-0042]\n"
        "- Reliability: 5xx error rate down from 0.42% to 0.17% between January and March; INC-2291, INC-2304 "
        "and INC-2317 closed [KB-31]",
    )
    sc.mark_culprit(agent="summariser")
    return notes


@rs.agent("writer")
def writer(notes: str) -> str:
    gain = round((1200 / 950 - 1) * 100)
    return sc.llm(
        f"Turn these notes into one paragraph for the Q2 planning doc. Throughput gain is {gain}%.\n{notes}",
        f"In Q1 the gateway team delivered three measurable improvements. The regional edge cache shipped "
        f"with v2.3.1 raised per-node throughput from 950 to 1,200 requests/s, a {gain}% gain [KB-12]. "
        "Connection pooling reduced p95 latency by 43% in staging [RFC-0042]. Reliability work brought the "
        "5xx error rate down from 0.42% to 0.17% [KB-31].",
    )


@rs.agent("editor")
def editor(paragraph: str, pages: list) -> str:
    refs = "\n".join(f"- [{p['id']}] {p['title']}" for p in pages)
    return sc.llm(f"Copy-edit and append a References list.\n\n{paragraph}\n\nSources:\n{refs}",
                  f"{paragraph}\n\n**References**\n{refs}")


def app(sc):
    pages = researcher(sc.task)
    notes = summariser(pages)
    return editor(writer(notes), pages)


def _supported(value: float, body: str) -> bool:
    nums = [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*\.?\d*", body)]
    if value in nums:
        return True
    return any(b and abs(abs(a / b - 1) * 100 - value) < 0.6 for a in nums for b in nums if a != b)


def check(answer):
    body = answer.split("**References**")[0]
    for claim, cite in re.findall(r"([^\[\]]*?)\[([A-Z]+-\d+)\]", body):
        for pct in re.findall(r"(\d+(?:\.\d+)?)%", claim):
            if not _supported(float(pct), WIKI[cite][1]):
                return False, f"{pct}% is not supported by the cited source {cite}"
    return True, "every cited number is supported"


if __name__ == "__main__":
    sc.main(app, check)
