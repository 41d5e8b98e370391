"""Demo-shaped runs without the demo model: the real team, tracer and fault injector on a scripted backend.

The scripted backend answers each prompt format of ``rootspan.agents.tasks`` the way a perfect
model would, so every failure in the trace comes from the injected fault. Run as a script (the
tracer is process-global): ``python attr_oracle_demo.py OUT_DIR SEED FAULT...`` writes one run
directory per fault under OUT_DIR, each with traces.jsonl and labels.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

import rootspan.tracer as rs
from rootspan.agents import tasks as T
from rootspan.agents.backends import Completion
from rootspan.agents.demo import write_label
from rootspan.agents.demo_team import build_team
from rootspan.agents.faults import FAULTS, FaultInjector


class OracleBackend:
    """Answers like a model that learnt the task perfectly (plans from whatever question it sees)."""

    model = "oracle"
    provider = "scripted"

    def __init__(self, problems: list[T.Task]) -> None:
        self.by_question = {problem.question: problem for problem in problems}

    def complete(self, messages: list[dict[str, str]], *, call: object = None, **options: object) -> Completion:
        prompt = messages[-1]["content"]
        if prompt.startswith("Q:"):
            question = prompt[2:].rsplit("\nP:", 1)[0]
            known = self.by_question.get(question)
            # a question missing a statement gets a plan from the numbers it still has
            expression = known.expression if known else "+".join(str(n) for n in T.numbers_in(question)[:2]) or "0"
            text = T.planner_completion(expression)
        elif prompt.startswith("S:") and "\nR:" not in prompt:
            text = T.solver_call_completion(prompt[2:].split("\n")[0])
        elif prompt.startswith("S:"):
            text = T.solver_answer_completion(prompt.split("\nR:")[1].split("\n")[0])
        elif prompt.startswith("V:"):
            question, plan, answer = prompt[2:].rsplit("\nJ:", 1)[0].split("|")
            known = self.by_question.get(question)
            ok = known is not None and plan == known.expression and answer.strip() == str(known.answer)
            text = T.verifier_completion(ok, answer)
        else:
            text = "?"
        return Completion(text=text, input_tokens=len(prompt), output_tokens=len(text))


def run_fault(fault: str, seed: int, out: Path, tasks: int = 4) -> None:
    problems = T.make_tasks(tasks, seed)
    backend = OracleBackend(problems)
    injector = FaultInjector(FAULTS[fault], seed, problems, backend)
    team = build_team(backend, injector)
    rs.setup(service="oracle-demo", run_dir=out, capture_content=True, profile="off")
    try:
        for index, problem in enumerate(problems):
            injector.begin_task(index)
            team.run(problem.question, expected=str(problem.answer), conversation_id=f"task-{index}")
    finally:
        rs.shutdown()
    write_label(out, FAULTS[fault], injector, seed)


if __name__ == "__main__":
    target, seed_text, *names = sys.argv[1:]
    for name in names:
        run_fault(name, int(seed_text), Path(target) / name)
