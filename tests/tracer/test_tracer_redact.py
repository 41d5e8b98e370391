"""Secret redaction: the format corpus with near misses, structured values, linear time.

Runs the real rule set (detect-secrets' detectors on RE2 plus rootspan's own rules) and the
stdlib ``re`` fallback, which must cover every format but the two only detect-secrets knows.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rootspan.tracer import redact as redact_module
from rootspan.tracer.redact import REDACTED, Redactor, is_secret_key
from secret_corpus import CASES, PLAIN

ENGINES = ["re2", "re"] if redact_module.ENGINE == "re2" else ["re"]
# Formats whose only rule is a detect-secrets detector (run under RE2 only).
DETECT_SECRETS_ONLY = {"Discord bot", "Mailchimp"}


@pytest.fixture(scope="module", params=ENGINES)
def redactor(request: pytest.FixtureRequest) -> Redactor:
    return Redactor(engine=request.param)


def test_corpus_is_broad() -> None:
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_secret_is_redacted(case, redactor: Redactor) -> None:
    if redactor.engine == "re" and case.name in DETECT_SECRETS_ONLY:
        pytest.skip("detect-secrets' detectors run only under RE2")
    out = redactor(case.text)
    assert case.secret not in out
    assert REDACTED in out


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_near_miss_is_kept(case, redactor: Redactor) -> None:
    assert redactor(case.near_miss) == case.near_miss


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_is_kept(text: str, redactor: Redactor) -> None:
    assert redactor(text) == text


def test_context_stays_readable() -> None:
    redact = Redactor()
    assert redact("DB_PASSWORD=abc123xyz") == "DB_PASSWORD=[REDACTED]"
    assert redact("postgres://app:pw123456@db/x") == "postgres://app:[REDACTED]@db/x"
    assert redact("Authorization: Bearer abcdefgh12345678") == "Authorization: Bearer [REDACTED]"
    pem = next(case for case in CASES if case.name == "PEM RSA").text
    out = redact(pem)
    assert out.startswith("-----BEGIN RSA PRIVATE KEY-----") and out.endswith("-----END RSA PRIVATE KEY-----")


def test_all_secrets_in_one_text_are_redacted() -> None:
    text = "\n".join(case.text for case in CASES if case.name not in DETECT_SECRETS_ONLY)
    out = Redactor(engine="re")(text)
    for case in CASES:
        if case.name not in DETECT_SECRETS_ONLY:
            assert case.secret not in out, case.name


def test_detect_secrets_detectors_are_used() -> None:
    if redact_module.ENGINE != "re2":
        pytest.skip("google-re2 not installed")
    from rootspan.tracer.secret_rules import detect_secrets_rules

    names = {rule.name.split(":")[1] for rule in detect_secrets_rules()}
    # A fixed floor, not the full list: a later detect-secrets may add detectors.
    assert {"AWSKeyDetector", "GitHubTokenDetector", "SlackDetector", "StripeDetector", "SendGridDetector",
            "TwilioKeyDetector", "DiscordBotTokenDetector", "MailchimpDetector", "BasicAuthDetector"} <= names


def test_caller_patterns_still_apply() -> None:
    assert Redactor([r"ACME-\d{6}"])("ticket ACME-123456 open") == "ticket [REDACTED] open"


# ---- structured values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, secret",
    [("password", True), ("db_password", True), ("DB_PASSWORD", True), ("clientSecret", True), ("client_secret", True),
     ("x-api-key", True), ("apiKey", True), ("api_key", True), ("token", True), ("access_token", True),
     ("hf_token", True), ("Authorization", True), ("private_key", True), ("AccountKey", True), ("secret_key_id", True),
     ("sig", True), ("connection_string", True),
     ("max_tokens", False), ("token_count", False), ("tokenizer", False), ("key", False), ("primary_key", False),
     ("password_set", False), ("author", False), ("design", False), ("query", False), ("input_tokens", False)],
)
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_structured_value_is_redacted_before_encoding() -> None:
    redact = Redactor()
    value = {
        "query": "refund for order 42",
        "api_key": {"nested": "anything under a secret key goes"},
        "headers": {"Authorization": "Bearer abcdefgh12345678", "Accept": "json"},
        "messages": [{"role": "user", "content": 'my "token": "' + "q" * 30 + '" please'}],
        "max_tokens": 128,
        "env": ["DB_PASSWORD=hunter2hunter2", ("x", 1.5, None, True)],
    }
    encoded = redact.to_json(value)
    decoded = json.loads(encoded)
    assert decoded["query"] == "refund for order 42"
    assert decoded["api_key"] == REDACTED
    assert decoded["headers"] == {"Authorization": REDACTED, "Accept": "json"}
    assert "q" * 30 not in encoded
    assert decoded["max_tokens"] == 128
    assert decoded["env"] == ["DB_PASSWORD=[REDACTED]", ["x", 1.5, None, True]]
    assert "hunter2" not in encoded


def test_structured_value_odd_shapes() -> None:
    redact = Redactor()
    cyclic: list = [1]
    cyclic.append(cyclic)
    assert json.loads(redact.to_json(cyclic)) == [1, "<cycle>"]

    class Opaque:
        def __str__(self) -> str:
            return "Opaque(password=abcdef123)"

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert json.loads(redact.to_json({"o": Opaque(), "b": Broken(), 3: "x"})) == {
        "o": "Opaque(password=[REDACTED])", "b": "<Broken that cannot be shown>", "3": "x"}
    deep: list = []
    node = deep
    for _ in range(200):
        node.append([])
        node = node[0]
    assert "<nested too deep>" in redact.to_json(deep)
    assert redact.to_json("sk-" + "a" * 30) == REDACTED


# ---- linear time -------------------------------------------------------------------------------

# Unit strings that, repeated, make backtracking patterns rescan: separators a scheme or key run
# could absorb, prefixes of token rules, base64 runs, half-written assignments and URLs.
ADVERSARIAL_UNITS = ["a.", "://", "a:b@", "eyJ", "aA0+/", "ghp_", "sk-", "password=", "token: x ", "-----BEGIN PRIVATE KEY-----",
                     "Bearer ", "x" * 7, " ", "_", "-", "\\\"", "Private-Lines: 1 ", "AKIA", "a=b;", "%20", "1//0", "?&sig="]


def _best_time(redact: Redactor, text: str, repeats: int = 3) -> float:
    """Best process CPU time of ``repeats`` calls: CPU time, so other jobs on a shared machine
    preempting this one do not count."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        redact(text)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(units=st.lists(st.sampled_from(ADVERSARIAL_UNITS) | st.text(min_size=1, max_size=6), min_size=1, max_size=3))
def test_redaction_time_is_linear(engine: str, units: list[str]) -> None:
    """Time at 4n over time at n stays near 4 (a quadratic pattern gives ~16); a ratio, no absolute limit.

    Sizes start past the CPU caches' comfort (RE2's per-match cost still grows from 25k to 100k
    characters, then stays flat), and 12 leaves room for that and for timer noise."""
    redact = Redactor(engine=engine)
    base = 10000 if engine == "re" else 50000
    unit = "".join(units)
    small = (unit * (base // len(unit) + 1))[:base]
    large = (unit * (4 * base // len(unit) + 1))[: 4 * base]
    redact(small)  # RE2 builds its automaton states lazily: warm them before timing
    redact(large)
    t_small = max(_best_time(redact, small), 1e-3)  # floor: below it, timer noise dominates
    t_large = _best_time(redact, large)
    assert t_large / t_small < 12, (unit[:40], t_small, t_large)


def test_quadratic_shape_of_the_old_url_pattern_is_gone() -> None:
    """The old URL rule rescanned "a.a.a..." from every position: 4x the text took 16x the time."""
    redact = Redactor()
    redact("a." * 1000)
    small, large = "a." * 10_000, "a." * 40_000
    assert _best_time(redact, large) / max(_best_time(redact, small), 1e-3) < 12


def test_tool_arguments_and_result_are_redacted_as_structures_on_real_spans(tmp_path) -> None:
    import rootspan.tracer as rs
    from rootspan import semconv as sc
    from tracer_helpers import by_name, finish, only_trace, start

    start(tmp_path, capture_content=True)

    @rs.tool("call_api")
    def call_api(query: str, api_key: str, headers: dict) -> dict:
        return {"status": "ok", "session": {"access_token": "opaque-value-42"}, "note": "DB_PASSWORD=abc123456"}

    call_api("order 42", api_key="plain-looking-value", headers={"Authorization": "custom-scheme xyz", "Accept": "json"})
    span = by_name(only_trace(finish(tmp_path)), "execute_tool call_api")
    arguments = json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS])
    result = json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_RESULT])
    assert arguments == {"query": "order 42", "api_key": REDACTED, "headers": {"Authorization": REDACTED, "Accept": "json"}}
    assert result == {"status": "ok", "session": {"access_token": REDACTED}, "note": "DB_PASSWORD=[REDACTED]"}
