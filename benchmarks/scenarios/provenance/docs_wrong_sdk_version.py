"""Code generation with tests (OpenInference-traced model calls and tools): planner -> doc_researcher -> coder -> tester.

The job pins acmestorage v3.0.2. The ``search_docs`` tool normalises the version to "3.0.2" while the
index stores "v3.0.2", so its version filter matches nothing and it silently falls back to the
unfiltered ranking, returning the v2.3.1 upload page. The coder writes correct code for the API it
was shown (``retries=3``), the tests against the real v3 client fail, and the coder's one retry
(still from the same page) fails too.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re, types

from opentelemetry import trace
from openinference.instrumentation import OITracer, TraceConfig, get_llm_attributes

from harness import Scenario
import rootspan.tracer as rs

tracer = OITracer(trace.get_tracer("billing-export-agents"), config=TraceConfig())
DOCS = [
    {"id": "upload-v2", "version": "v2.3.1", "title": "acmestorage 2.3.1 - Uploading objects",
     "body": "Client.upload(path, bucket, retries=0, content_type=None)\nPass retries=N to retry failed uploads "
             "N times with exponential backoff. Example:\n    client.upload('a.csv', 'exports', retries=3)"},
    {"id": "upload-v3", "version": "v3.0.2", "title": "acmestorage 3.0 - Uploading objects",
     "body": "Client.upload(path, bucket, *, retry: RetryPolicy | None = None, content_type=None)\nThe retries= "
             "argument was removed in 3.0. Example:\n    client.upload('a.csv', 'exports', retry=RetryPolicy(max_attempts=3))"},
    {"id": "auth-v3", "version": "v3.0.2", "title": "acmestorage 3.0 - Authentication",
     "body": "Client() reads ACME_STORAGE_TOKEN from the environment."},
]
sc = Scenario(
    "docs-wrong-sdk-version", klass="provenance",
    task="Add upload_report(path) to the billing-export job using acmestorage v3.0.2 (pinned in requirements.txt). "
         "It must upload to the 'exports' bucket, retry up to 3 times, and pass tests/test_upload.py.",
    description="search_docs drops its version filter and returns the v2.3.1 upload page for a v3.0.2 question",
    category="tool_wrong_result",
)


def chat(agent: str, prompt: str, reply: str) -> str:
    with tracer.start_as_current_span("ChatCompletion", openinference_span_kind="llm") as span:
        span.set_attributes(get_llm_attributes(
            provider="openai", model_name="gpt-4o-2024-08-06",
            input_messages=[{"role": "system", "content": f"You are the {agent}."}, {"role": "user", "content": prompt}],
            output_messages=[{"role": "assistant", "content": reply}],
            token_count={"prompt": len(prompt.split()) + 9, "completion": len(reply.split()),
                         "total": len(prompt.split()) + 9 + len(reply.split())}))
        span.set_input(prompt)
        span.set_output(reply)
    return reply


@tracer.tool(name="search_docs", description="Search the vendored SDK documentation index")
def search_docs(query: str, package: str, version: str) -> list:
    wanted = version.lstrip("v")
    pool = [d for d in DOCS if d["version"] == wanted]
    if not pool:
        pool = DOCS
        sc.mark_culprit(agent=None)
    words = set(query.lower().split())
    ranked = sorted(pool, key=lambda d: -len(words & set(re.findall(r"[a-z]+", d["body"].lower()))))
    return ranked[:1]


def _acmestorage_v3():
    mod = types.ModuleType("acmestorage")
    mod.calls = []
    class RetryPolicy:
        def __init__(self, max_attempts=1, backoff=1.0):
            self.max_attempts, self.backoff = max_attempts, backoff
    class Client:
        def upload(self, path, bucket, *, retry=None, content_type=None):
            mod.calls.append((path, bucket, retry))
    mod.RetryPolicy, mod.Client, mod.__version__ = RetryPolicy, Client, "3.0.2"
    return mod


@tracer.tool(name="run_tests", description="Run tests/test_upload.py against the candidate module")
def run_tests(source: str) -> dict:
    sdk = _acmestorage_v3()
    sys.modules["acmestorage"] = sdk
    ns: dict = {}
    try:
        exec(compile(source, "billing_export/upload.py", "exec"), ns)
        ns["upload_report"]("out/report-2024-06.csv")
        path, bucket, retry = sdk.calls[-1]
        assert bucket == "exports" and retry is not None and retry.max_attempts == 3, "retry policy not set"
        return {"passed": 1, "failed": 0, "output": "tests/test_upload.py::test_upload_retries PASSED"}
    except Exception as exc:  # noqa: BLE001 - a failing test is a result
        return {"passed": 0, "failed": 1, "output": f"tests/test_upload.py::test_upload_retries FAILED\n{type(exc).__name__}: {exc}"}
    finally:
        sys.modules.pop("acmestorage", None)


@rs.agent("planner")
def planner(task: str) -> str:
    return chat("planner", task, "1. Look up the upload API for acmestorage 3.0.2.\n2. Implement upload_report(path) "
                                 "with 3 retries to bucket 'exports'.\n3. Run tests/test_upload.py.")


@rs.agent("doc_researcher")
def doc_researcher(plan: str) -> dict:
    return search_docs("upload file retry", package="acmestorage", version="3.0.2")[0]


CODE_1 = "import acmestorage\n\n\ndef upload_report(path):\n    client = acmestorage.Client()\n    client.upload(path, 'exports', retries=3)\n"
CODE_2 = "import acmestorage\n\n\ndef upload_report(path):\n    client = acmestorage.Client()\n    client.upload(path, 'exports', max_retries=3)\n"


@rs.agent("coder")
def coder(task: str, doc: dict, failure: str | None = None) -> str:
    if failure is None:
        prompt = f"{task}\n\nReference ({doc['title']}):\n{doc['body']}\n\nReturn the module source."
        reply = f"Per the docs, `upload` takes a `retries` argument:\n```python\n{CODE_1}```"
    else:
        prompt = f"The tests failed:\n{failure}\nFix the module. Reference:\n{doc['body']}"
        reply = f"The keyword may have been renamed; trying `max_retries`:\n```python\n{CODE_2}```"
    return re.search(r"```python\n(.*?)```", chat("coder", prompt, reply), re.S).group(1)


@rs.agent("tester")
def tester(source: str) -> dict:
    result = run_tests(source)
    chat("tester", f"Summarise this test run:\n{json.dumps(result)}",
         "1 test failed: upload() rejected the retry keyword argument." if result["failed"] else "All tests pass.")
    return result


def app(sc):
    doc = doc_researcher(planner(sc.task))
    source = coder(sc.task, doc)
    result = tester(source)
    if result["failed"]:
        source = coder(sc.task, doc, failure=result["output"])
        result = tester(source)
    return result


def check(answer):
    return (answer["failed"] == 0, answer["output"].splitlines()[-1])


if __name__ == "__main__":
    sc.main(app, check)
