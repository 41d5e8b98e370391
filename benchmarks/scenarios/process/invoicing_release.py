"""Release-automation crew: the planner's plan leaves out the runbook's migration step.

A planner reads runbook RB-12 for the invoicing service and writes the execution plan, an
executor runs each step with shell tools (its first kubectl call times out and the retry works),
and a verifier runs the smoke test. RB-12 has six steps; step 3 runs the Django migrations that
release 2.14.0 needs (it adds invoices.tax_region). The planner's plan has five steps and no
migration. Every planned step succeeds, the smoke test fails with "column invoices.tax_region
does not exist", and the release is rolled back.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from harness import Scenario
import rootspan.tracer as rs

RUNBOOK = """RB-12  Invoicing service release (owner: payments-platform, rev 9, 2024-08-30)
1. Post in #deploys: "invoicing <version> rolling out to prod-eu-1".
2. Scale the billing worker down: kubectl -n invoicing scale deploy/billing-worker --replicas=0
3. Run migrations BEFORE the new image serves traffic:
   kubectl -n invoicing exec deploy/invoicing -- python manage.py migrate --noinput
   (2.14.0: 0087_invoice_tax_region adds invoices.tax_region; the app reads it on every request.)
4. Roll out the image: kubectl -n invoicing set image deploy/invoicing app=registry.internal/invoicing:<version>
5. Scale the billing worker back: kubectl -n invoicing scale deploy/billing-worker --replicas=4
6. Smoke test: POST /api/invoices/preview with fixture INV-TEST-001, expect 200.
"""
DB = {"columns": {"id", "customer_id", "amount_cents", "currency", "issued_at"}}
STATE = {"image": "invoicing:2.13.2", "kubectl_calls": 0}

sc = Scenario(
    "invoicing-release", klass="process",
    task="Release invoicing 2.14.0 to prod-eu-1 following runbook RB-12, and confirm the smoke test passes.",
    description="The planner's plan omits RB-12's migration step; the new image runs against a schema without "
                "invoices.tax_region, the smoke test fails and the release is rolled back.",
    expected={"released": "2.14.0"}, category="disobey_task_spec",
)


@rs.tool("get_runbook")
def get_runbook(runbook_id: str) -> str:
    return RUNBOOK


@rs.tool("run_command")
def run_command(command: str) -> str:
    if command.startswith("kubectl"):
        STATE["kubectl_calls"] += 1
        if STATE["kubectl_calls"] == 1:
            raise TimeoutError("Unable to connect to the server: net/http: TLS handshake timeout")
    if "manage.py migrate" in command:
        DB["columns"].add("tax_region")
        return "Applying invoicing.0087_invoice_tax_region... OK"
    if "set image" in command:
        STATE["image"] = command.rsplit("/", 1)[1]
        return "deployment.apps/invoicing image updated"
    if "scale" in command:
        return "deployment.apps/billing-worker scaled"
    return "ok"


@rs.tool("post_message")
def post_message(channel: str, text: str) -> str:
    return f"posted to {channel} (ts 1727688123.004500)"


@rs.tool("smoke_test")
def smoke_test(endpoint: str, fixture: str) -> dict:
    if STATE["image"].endswith("2.14.0") and "tax_region" not in DB["columns"]:
        return {"status": 500, "body": 'ProgrammingError: column invoices.tax_region does not exist\nLINE 1: SELECT '
                                       '"invoices"."id", "invoices"."tax_region", ...'}
    return {"status": 200, "body": '{"preview": "ok"}'}


@rs.agent("planner")
def planner(task: str) -> list[str]:
    runbook = get_runbook("RB-12")
    plan = sc.llm(f"{task}\nRunbook:\n{runbook}\nWrite the execution plan, one command per line.",
                  "Plan for invoicing 2.14.0 on prod-eu-1:\n"
                  "post #deploys invoicing 2.14.0 rolling out to prod-eu-1\n"
                  "kubectl -n invoicing scale deploy/billing-worker --replicas=0\n"
                  "kubectl -n invoicing set image deploy/invoicing app=registry.internal/invoicing:2.14.0\n"
                  "kubectl -n invoicing scale deploy/billing-worker --replicas=4\n"
                  "smoke POST /api/invoices/preview INV-TEST-001")
    sc.mark_culprit(agent="planner")
    return plan.splitlines()[1:]


@rs.agent("executor")
def executor(plan: list[str]) -> list[str]:
    log = []
    for step in plan:
        if step.startswith("post "):
            channel, text = step[5:].split(" ", 1)
            log.append(post_message(channel, text))
        elif step.startswith("kubectl"):
            for attempt in range(3):
                try:
                    log.append(run_command(step))
                    break
                except TimeoutError:
                    continue
    sc.llm(f"Executed steps: {log}", "All four change steps went through (one kubectl retry after a TLS handshake "
                                     "timeout). invoicing is on 2.14.0 and the billing worker is back at 4 replicas.")
    return log


@rs.agent("verifier")
def verifier(plan: list[str]) -> dict:
    result = smoke_test("/api/invoices/preview", "INV-TEST-001")
    if result["status"] == 200:
        return {"released": "2.14.0"}
    sc.llm(f"Smoke test failed: {result}",
           "Smoke test returned 500: the app queries invoices.tax_region, which doesn't exist in prod-eu-1. Rolling "
           "invoicing back to 2.13.2 and keeping the billing worker up.")
    run_command("kubectl -n invoicing rollout undo deploy/invoicing")
    return {"released": None, "rolled_back_to": "2.13.2", "smoke": result["status"]}


def app(sc):
    plan = planner(sc.task)
    executor(plan)
    return verifier(plan)


def check(answer) -> tuple[bool, str]:
    if answer == sc.expected:
        return True, "released and smoke test green"
    return False, f"2.14.0 not released: smoke test {answer.get('smoke')}, rolled back to {answer.get('rolled_back_to')}"


if __name__ == "__main__":
    sc.main(app, check)
