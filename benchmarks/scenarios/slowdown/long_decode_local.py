"""Release-notes writer whose local model now decodes 9x more tokens.

The app: a ``collector`` agent reads the git log and the merged pull requests, a ``drafter``
agent writes the release notes with a small model running in-process through llama.cpp
(provider ``llama_cpp``: prefill and decode burn this process's CPU), and an ``editor`` agent has
a remote model (Anthropic) polish the draft. Three agents, two model calls, two tools.

What slows down: in the candidate the drafter's prompt template was changed to ask for
"a detailed paragraph per pull request" and ``max_tokens`` raised, so the local model writes ~440
tokens instead of ~50. The prompt is the same size and the time to first token is unchanged
(~0.17 s, recorded as ``gen_ai.server.time_to_first_token``); the call grows with the output,
token by token. The span a user wants named is the drafter's ``chat`` span, a local model call
that spends most of its time after the first token: bound by ``llm_decode``.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rootspan.tracer as rs  # noqa: E402
from harness import Scenario  # noqa: E402

sc = Scenario(
    "long-decode-local",
    klass="slowdown",
    task="Write the release notes for v2.14.0 from the merged pull requests.",
    description="the local drafter model writes ~440 output tokens instead of ~50",
)
RNG = random.Random(time.time_ns())
PRS = [(1812, "Add SAML single sign-on for Okta and Azure AD"),
       (1820, "Fix CSV export timing out above 50k rows"),
       (1823, "Speed up dashboard load by caching widget queries"), (1827, "Drop Python 3.8 support"),
       (1831, "Retry webhooks with exponential backoff"), (1834, "Dark mode for the mobile app"),
       (1840, "Fix duplicate invoice emails on plan change"), (1844, "Audit log export to S3"),
       (1849, "Rate-limit the public API per token"), (1852, "Upgrade to Postgres 16")]
WEIGHTS = np.random.default_rng(0).standard_normal((384, 384)).astype(np.float32)


def wait(seconds: float) -> None:
    """Sleep for a remote call's latency, with the +-10% jitter real runs have."""
    time.sleep(seconds * RNG.uniform(0.9, 1.1))


def compute_for(seconds: float, state: np.ndarray) -> np.ndarray:
    """The model's forward passes: real matrix work on this thread until the step is done."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        state = np.tanh(WEIGHTS @ state)
    return state


def local_chat(prompt: str, reply: str, model: str = "qwen2.5-1.5b-instruct-q4_k_m") -> str:
    """An in-process llama.cpp call: prefill at ~2,500 tokens/s, then decode at ~300 tokens/s."""
    input_tokens = len(prompt.split()) * 4 // 3 + 240  # + the system prompt and two examples
    output_tokens = len(reply.split()) * 4 // 3
    speed = RNG.uniform(0.9, 1.1)
    with rs.llm_call(model=model, provider="llama_cpp") as call:
        sc.mark_culprit(agent="drafter", bound_by="llm_decode")
        start = time.perf_counter()
        state = compute_for(0.02 + input_tokens / 2500 * speed, np.ones(384, dtype=np.float32))
        ttft = time.perf_counter() - start
        for _ in range(output_tokens):
            state = compute_for(speed / 300, state)
        call.messages(input=[{"role": "user", "content": prompt}], output=reply)
        call.usage(input_tokens=input_tokens, output_tokens=output_tokens)
        call.finish_reasons(["stop"])
        call.set_attribute("gen_ai.server.time_to_first_token", round(ttft, 4))
    return reply


def remote_chat(prompt: str, reply: str, model: str = "claude-3-5-haiku-20241022") -> str:
    input_tokens, output_tokens = len(prompt.split()) * 4 // 3, len(reply.split()) * 4 // 3
    with rs.llm_call(model=model, provider="anthropic") as call:
        start = time.perf_counter()
        wait(0.15 + input_tokens * 2e-5)
        ttft = time.perf_counter() - start
        wait(output_tokens / 160)
        call.messages(input=[{"role": "user", "content": prompt}], output=reply)
        call.usage(input_tokens=input_tokens, output_tokens=output_tokens)
        call.finish_reasons(["end_turn"])
        call.set_attribute("gen_ai.server.time_to_first_token", round(ttft, 4))
    return reply


@rs.agent("collector")
def collector() -> str:
    with rs.tool_span("git_log", arguments={"range": "v2.13.0..v2.14.0"}) as call:
        wait(0.06)
        call.set_result({"commits": 143})
    with rs.tool_span("list_merged_prs", arguments={"milestone": "v2.14.0"}) as call:
        call.set_attribute("server.address", "api.github.com")
        wait(0.16)
        call.set_result(PRS)
    return "\n".join(f"#{n} {title}" for n, title in PRS)


@rs.agent("drafter")
def drafter(prs: str) -> str:
    if sc.variant == "baseline":
        ask = "One line per highlight."
        reply = ("v2.14.0 highlights: SAML single sign-on for Okta and Azure AD; faster dashboards; CSV "
                 "export no longer times out; webhook retries with backoff; dark mode on mobile; audit log "
                 "export to S3; per-token API rate limits; Postgres 16.")
    else:
        ask = "Write a detailed paragraph per pull request: what changed, why, and who it affects."
        reply = " ".join(f"#{n} {title}. This change affects every workspace that relies on this area; "
                         "it is enabled by default, documented in the admin guide and needs no action from "
                         "users." for n, title in PRS)
    return local_chat(f"Release notes for v2.14.0. {ask}\nMerged pull requests:\n{prs}", reply)


@rs.agent("editor")
def editor(draft: str) -> str:
    return remote_chat(f"Polish these release notes, keep every item:\n{draft}",
                       "v2.14.0 brings SAML single sign-on, faster dashboards and Postgres 16, plus fixes "
                       "for CSV export and duplicate invoice emails.")


def app(sc: Scenario) -> str:
    return editor(drafter(collector()))


def check(answer: str) -> tuple[bool, str]:
    return ("SAML" in answer, "the notes lost the headline feature")


if __name__ == "__main__":
    sys.exit(sc.main(app, check))
