"""Plumbing every scenario shares: a scripted model, the ground truth, one run directory per run.

A scenario is a real instrumented program (``rootspan.tracer`` or OpenInference's ``OITracer``):
agents, tools and model calls produce real OpenTelemetry spans with content capture on. The
"model" is scripted (its replies are fixed text), because the corpus must be deterministic and run
without a model server; everything else is the app's own code, as a user would write it.

The ground truth is recorded by the program itself: ``mark_culprit()`` inside the step that
introduced the failure notes that span's id; ``finish()`` writes ``labels.json`` beside the traces.
The engine never reads labels.json, so marking the culprit cannot help it.

Usage, in a scenario file::

    from harness import Scenario
    sc = Scenario("wrong-unit", klass="provenance", task="...", description="...")

    def app(sc): ...          # the multi-agent program; returns the final answer
    def check(answer): ...    # the app's own acceptance check: (ok, reason)

    if __name__ == "__main__":
        sc.main(app, check)

Run one: ``python benchmarks/scenarios/provenance/wrong_unit.py --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

import rootspan.tracer as rs
from rootspan.safe_write import write_atomic

CLASSES = ("structural", "provenance", "process", "constraint", "slowdown")


class Scenario:
    """One scenario program: its metadata, its ground truth, and how it runs."""

    def __init__(
        self,
        name: str,
        klass: str,
        task: str,
        description: str,
        expected: Any = None,
        category: str | None = None,
        variant: str = "failure",
    ) -> None:
        if klass not in CLASSES:
            raise ValueError(f"class must be one of {CLASSES}")
        self.name = name
        self.klass = klass
        self.task = task
        self.description = description
        self.expected = expected
        self.category = category
        self.variant = variant  # "failure", or "baseline"/"candidate" for slowdown pairs
        self.culprit_span_id: str | None = None
        self.culprit_agent: str | None = None
        self.bound_by: str | None = None

    # --- what the app calls ------------------------------------------------------------------

    def llm(self, prompt: Any, reply: str, model: str = "scripted-llm", provider: str = "scripted") -> str:
        """One model call with its prompt and its (scripted) reply, as a real client records it."""
        with rs.llm_call(model=model, provider=provider) as call:
            call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}])
            call.messages(output=reply)
            prompt_words = len(json.dumps(prompt).split())
            call.usage(input_tokens=prompt_words, output_tokens=len(reply.split()))
            call.finish_reasons(["stop"])
        return reply

    def mark_culprit(self, agent: str | None = None, bound_by: str | None = None) -> None:
        """Ground truth: the current span is where the failure (or the slowdown) entered the run."""
        self.culprit_span_id = rs.current_span_id()
        self.culprit_agent = agent
        self.bound_by = bound_by

    # --- running ------------------------------------------------------------------------------

    def main(self, app: Callable[["Scenario"], Any], check: Callable[[Any], tuple[bool, str]]) -> int:
        parser = argparse.ArgumentParser(description=self.description)
        parser.add_argument("--out", required=True, help="run directory to write")
        parser.add_argument("--variant", default=None, help="slowdown pairs: baseline or candidate")
        args = parser.parse_args()
        if args.variant:
            self.variant = args.variant
        out = Path(args.out)
        # neutral names: the scenario's name says what goes wrong, and the engine must not read it
        rs.setup(service="agent-app", run_dir=out, capture_content=True)  # default profiling, as a user runs it
        answer: Any = None
        ok, reason = False, "the app did not finish"
        with rs.workflow("handle-request", task=self.task):
            try:
                answer = app(self)
                ok, reason = check(answer)
            except Exception as exc:  # noqa: BLE001 - an app that crashes has failed; the span says why
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            rs.outcome(success=ok, reason=None if ok else reason, expected=self.expected, answer=answer)
        rs.shutdown()
        self._write_labels(out, ok)
        return 0

    def _write_labels(self, out: Path, ok: bool) -> None:
        label = {
            "fault": f"scenario:{self.name}",
            "kind": "slowdown" if self.klass == "slowdown" else "failure",
            "class": self.klass,
            "variant": self.variant,
            "description": self.description,
            "succeeded": ok,
            "culprit": {"span_id": self.culprit_span_id, "agent": self.culprit_agent, "step": None},
            "category": self.category,
            "bound_by": self.bound_by,
        }
        write_atomic(out / "labels.json", json.dumps(label, indent=1) + "\n", root=out)


if __name__ == "__main__":
    sys.exit("harness.py is imported by the scenario programs; run one of them instead")
