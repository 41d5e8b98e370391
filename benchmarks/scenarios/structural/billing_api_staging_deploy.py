"""DevOps runbook bot: an expired Vault token early on surfaces six steps later as a DNS-looking error.

A runbook planner turns the deploy request into steps, an operator executes them with cluster
tools, and a diagnostician reads the logs when something breaks. The Vault read for the database
credentials fails (the bot's token expired); the operator logs a warning and goes on with an empty
credential set, because the config renderer "falls back to defaults". The rendered DSN points at
host None; the config applies and the Helm upgrade succeeds, but the migration job fails with
"could not translate host name "None"", twice. The diagnostician, reading a long pod log full of
resolver noise, blames CoreDNS, and the operator rolls back.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

NS, RELEASE, VERSION = "billing", "billing-api", "v4.12.0"
VAULT = {"secret/staging-eu/billing-db": {"host": "pg-billing.staging-eu.internal", "user": "billing_app",
                                          "password": "s3cr3t-rotated-0915", "db": "billing"}}
VAULT_TOKEN_TTL_S = 0  # the bot's token was issued 32 days ago with a 768h TTL

sc = Scenario(
    "billing-api-staging-deploy", klass="structural",
    task=f"Deploy {RELEASE} {VERSION} to staging-eu (namespace {NS}) following runbook RB-7: fetch DB credentials "
         "from Vault, render and apply config, helm upgrade, run migrations, verify.",
    description="The Vault credential read fails on an expired token; the operator continues with empty "
                "credentials and the migration job later fails with a DNS-looking error, so the deploy is rolled back.",
    expected={"deployed": VERSION}, category="tool_error",
)


class MigrationError(Exception):
    pass


@rs.tool("cluster_health")
def cluster_health(context: str) -> dict:
    return {"context": context, "nodes_ready": "6/6", "coredns": "2/2 Running", "pg-billing": "reachable"}


@rs.tool("vault_read")
def vault_read(path: str) -> dict:
    if VAULT_TOKEN_TTL_S <= 0:
        sc.mark_culprit(agent=None)
        raise PermissionError(f"vault: 403 permission denied on {path}: token expired (accessor hvs.CAES...7Qk)")
    return VAULT[path]


@rs.tool("render_config")
def render_config(creds: dict, version: str) -> dict:
    dsn = f"postgresql://{creds.get('user')}:***@{creds.get('host')}:5432/{creds.get('db', 'billing')}"
    return {"DATABASE_URL": dsn, "APP_VERSION": version, "POOL_SIZE": "20", "LOG_LEVEL": "info"}


@rs.tool("apply_configmap")
def apply_configmap(namespace: str, name: str, data: dict) -> str:
    return f"configmap/{name} configured ({len(data)} keys) in {namespace}"


@rs.tool("helm_upgrade")
def helm_upgrade(release: str, chart_version: str, namespace: str) -> dict:
    return {"release": release, "revision": 58, "status": "deployed", "chart": f"billing-api-{chart_version}"}


@rs.tool("run_migrations")
def run_migrations(namespace: str, config: dict) -> str:
    host = config["DATABASE_URL"].split("@", 1)[1].split(":", 1)[0]
    if host == "None":
        raise MigrationError('alembic: psycopg2.OperationalError: could not translate host name "None" to '
                             "address: Name or service not known")
    return "migrations 0141..0144 applied"


@rs.tool("fetch_pod_logs")
def fetch_pod_logs(namespace: str, selector: str, tail: int) -> str:
    lines = []
    for i in range(tail):
        ts = f"2024-09-16T09:{14 + i // 20:02d}:{(i * 3) % 60:02d}Z"
        if i % 9 == 4:
            lines.append(f"{ts} WARN  dns: lookup metrics-push.observability.svc.cluster.local: i/o timeout (attempt {i % 3 + 1})")
        elif i % 7 == 2:
            lines.append(f'{ts} ERROR db: could not translate host name "None" to address: Name or service not known')
        else:
            lines.append(f"{ts} INFO  http: GET /healthz 200 {2 + i % 5}ms pod=billing-api-7d9f8c6b5-x{i % 4}q2")
    return "\n".join(lines)


@rs.tool("helm_rollback")
def helm_rollback(release: str, revision: int, namespace: str) -> str:
    return f"Rollback was a success! {release} now at revision {revision + 2} (chart billing-api-v4.11.3)"


@rs.agent("runbook_planner")
def runbook_planner(task: str) -> list[str]:
    plan = sc.llm(f"Turn this into runbook steps (RB-7):\n{task}",
                  "1. cluster_health on staging-eu\n2. vault_read secret/staging-eu/billing-db\n3. render_config\n"
                  "4. apply_configmap billing-api-env\n5. helm_upgrade billing-api v4.12.0\n6. run_migrations\n"
                  "7. verify /healthz and migration status")
    return [line.split(". ", 1)[1] for line in plan.splitlines()]


@rs.agent("diagnostician")
def diagnostician(error: str) -> str:
    logs = fetch_pod_logs(NS, "app=billing-api", tail=80)
    return sc.llm(f"Migrations failed: {error}\nRecent logs:\n{logs}\nWhat is the root cause?",
                  "The pods are seeing repeated resolver failures: 'i/o timeout' lookups for metrics-push and "
                  "'could not translate host name' from the DB driver. This looks like a CoreDNS problem in "
                  "staging-eu rather than an application bug. Recommend rolling back to v4.11.3 and paging the "
                  "platform on-call about DNS.")


@rs.agent("operator")
def operator(steps: list[str]) -> dict:
    cluster_health("staging-eu")
    try:
        creds = vault_read("secret/staging-eu/billing-db")
    except Exception as exc:  # Vault is flaky from CI runners; render_config falls back to defaults
        sc.llm(f"vault_read failed: {exc}. Continue?",
               "Vault returned 403 on the read. The config renderer has defaults, so I'll continue with the "
               "deploy and revisit the secret afterwards.")
        creds = {}
    config = render_config(creds, VERSION)
    apply_configmap(NS, "billing-api-env", config)
    release = helm_upgrade(RELEASE, VERSION, NS)
    error = None
    for _ in range(2):
        try:
            run_migrations(NS, config)
            return {"deployed": VERSION}
        except MigrationError as exc:
            error = str(exc)
    diagnosis = diagnostician(error)
    helm_rollback(RELEASE, release["revision"] - 1, NS)
    return {"deployed": None, "rolled_back_to": "v4.11.3", "diagnosis": diagnosis}


def app(sc):
    return operator(runbook_planner(sc.task))


def check(answer) -> tuple[bool, str]:
    if answer.get("deployed") == VERSION:
        return True, "deployed"
    return False, f"{VERSION} not deployed: {json.dumps(answer)[:200]}"


if __name__ == "__main__":
    sc.main(app, check)
