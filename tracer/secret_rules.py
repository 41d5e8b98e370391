"""The secret rule set: which text the tracer redacts before anything is put on a span.

Two sources, so that coverage does not depend on a list we keep by hand alone:

* **detect-secrets' regex detectors** (``detect_secrets.plugins.*``, Yelp's maintained scanner):
  every ``RegexBasedDetector`` subclass the installed version ships is picked up at run time, so a
  new detector in a later release is used without a change here. Those patterns are written for
  Python's backtracking ``re`` with unbounded repetition; they are only run under RE2, whose
  automaton matches any pattern in linear time. Patterns RE2 cannot express (look-arounds) are
  skipped, and our own rules below cover those formats.
* **rootspan's own rules**, needed where detect-secrets has no detector (OpenAI/Anthropic,
  Hugging Face, Langfuse, GCP ``ya29.``, ``github_pat_``, Slack ``xapp-``...), where its pattern
  needs a look-around, and for the redaction-specific shapes a scanner does not need: a keyword
  assignment must keep its key and lose only its value; a URL keeps its user and loses only its
  password. Every own rule is valid for both RE2 and ``re`` and linear under either: repetition
  is bounded, there are no nested quantifiers, and an unbounded run only ever comes last in a
  pattern (nothing after it can fail, so no start position rescans text it already consumed).

A rule either redacts its whole match or only its group ``s``; text outside ``s`` is context a
reader may keep ("DB_PASSWORD=", "Authorization: Bearer ", "https://user:").
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass

# Names whose value is a secret when they are the key of an assignment, a JSON field or a dict
# key. ``secret`` may be followed by more of the name (SECRET_KEY, client_secret_id); the others
# must end the key, so ``max_tokens`` or ``token_count`` or ``passwordless`` stay. ``_`` counts
# as a word character for ``\b``, so DB_PASSWORD or client_secret need no boundary before the word,
# and the short words that would hit inside ordinary words (bypass, design) take ``\b`` or ``_``.
KEY_WORDS = (
    r"(?:password|passwd|passphrase|(?:\b|_)pwd|(?:\b|_)pass"
    r"|secret(?:[_.-][a-z0-9_.-]{0,40})?"
    r"|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|account[_-]?key"
    r"|shared[_-]?access[_-]?key|subscription[_-]?key|signature|(?:\b|_)sig|credentials?|connection[_-]?string"
    r"|(?:[^A-Za-z0-9-]|^)auth)"  # not "always-auth=false" (npm), not "oauth"
)
_ASSIGN = r"\\?[\"']?\s{0,5}(?::=|=>|[:=])\s{0,5}"

# (name, pattern): the whole match is the secret.
TOKEN_RULES: tuple[tuple[str, str], ...] = (
    ("openai-anthropic-key", r"\bsk-[A-Za-z0-9_-]{20,1000}"),  # sk-, sk-proj-, sk-ant-api03-, sk-svcacct-
    ("langfuse-key", r"\b[sp]k-lf-[A-Za-z0-9-]{8,255}"),
    ("aws-access-key-id", r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"),
    ("github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
    ("github-fine-grained-pat", r"\bgithub_pat_[A-Za-z0-9_]{22,255}"),
    ("gitlab-token", r"\bgl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas|ffct)-[A-Za-z0-9_-]{20,1000}"),
    ("gitlab-runner-token", r"\bGR1348941[A-Za-z0-9_-]{20,50}"),
    ("slack-token", r"\bxox[abposre]-[A-Za-z0-9-]{10,1000}"),
    ("slack-app-token", r"\bxapp-\d-[A-Za-z0-9-]{10,1000}"),
    ("slack-webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{16,1000}"),
    ("stripe-key", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,255}"),
    ("stripe-webhook-secret", r"\bwhsec_[A-Za-z0-9]{24,255}"),
    ("sendgrid-key", r"\bSG\.[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{16,64}"),
    ("twilio-sid", r"\b(?:AC|SK)[0-9a-fA-F]{32}\b"),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi-token", r"\bpypi-AgE[A-Za-z0-9_-]{50,1000}"),
    ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,255}\b"),
    ("huggingface-org-token", r"\bapi_org_[A-Za-z0-9]{30,255}\b"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("google-oauth-access-token", r"\bya29\.[0-9A-Za-z_-]{20,}"),
    ("google-oauth-refresh-token", r"\b1//0[0-9A-Za-z_-]{40,}"),
    ("google-oauth-client-secret", r"\bGOCSPX-[A-Za-z0-9_-]{28}"),
    ("azure-ad-client-secret", r"\b[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,40}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{5,1000}\.eyJ[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?"),
    ("digitalocean-token", r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    ("shopify-token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"),
    ("databricks-token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b"),
    ("groq-key", r"\bgsk_[A-Za-z0-9]{40,255}\b"),
    ("replicate-token", r"\br8_[A-Za-z0-9]{37}\b"),
    ("xai-key", r"\bxai-[A-Za-z0-9]{40,255}\b"),
    ("linear-key", r"\blin_api_[A-Za-z0-9]{40}\b"),
    ("vault-token", r"\bhv[sbr]\.[A-Za-z0-9_-]{24,255}"),
    ("doppler-token", r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,255}"),
    ("notion-token", r"\b(?:secret_[A-Za-z0-9]{43}|ntn_[A-Za-z0-9]{40,60})\b"),
    ("postman-key", r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b"),
    ("age-secret-key", r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b"),
    ("grafana-token", r"\b(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,1000}={0,2})"),
    ("sentry-token", r"\bsntr[yu]s_[A-Za-z0-9+/=_-]{50,1000}"),
    ("supabase-token", r"\bsbp_[a-f0-9]{40}\b"),
    ("telegram-bot-token", r"\b\d{8,10}:AA[0-9A-Za-z_-]{33}\b"),
    ("mailgun-key", r"\bkey-[0-9a-f]{32}\b"),
    ("discord-webhook", r"discord(?:app)?\.com/api/webhooks/\d{5,30}/[A-Za-z0-9_-]{20,255}"),
    ("square-token", r"\bsq0(?:csp|atp)-[0-9A-Za-z_-]{22,60}"),
    ("newrelic-key", r"\bNR(?:AK|AA|II)-[A-Z0-9]{27}\b"),
    ("atlassian-token", r"\bATATT3[A-Za-z0-9_=-]{100,1000}"),
    ("figma-token", r"\bfig[dou]_[A-Za-z0-9_-]{40,100}"),
    ("perplexity-key", r"\bpplx-[A-Za-z0-9]{40,64}\b"),
    ("langsmith-key", r"\blsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}\b"),
    ("pinecone-key", r"\bpcsk_[A-Za-z0-9_-]{40,120}"),
)

# (name, pattern): only group ``s`` is the secret; the rest of the match stays readable.
CONTEXT_RULES: tuple[tuple[str, str], ...] = (
    # KEY=value, key: value, "key": "value", key => 'value', in code, env files, JSON, YAML, URLs
    ("keyword-quoted", r"(?i)" + KEY_WORDS + _ASSIGN + r"\\?[\"'](?P<s>[^\"'\r\n\\]{1,1000})"),
    ("keyword-bare", r"(?i)" + KEY_WORDS + _ASSIGN + r"(?P<s>[^\s\"'`,;&<>(){}\[\]\\]{1,1000})"),
    # --password hunter2, --api-key=...
    # <password>...</password>, <ApiKey>...</ApiKey> in XML and SOAP bodies
    ("xml-element", r"(?i)<[a-z0-9_:.-]{0,40}" + KEY_WORDS + r">(?P<s>[^<]{1,1000})<"),
    # .netrc: machine host login user password secret
    ("netrc-password", r"(?i)\blogin\s{1,5}\S{1,256}\s{1,5}password\s{1,5}(?P<s>\S{1,1000})"),
    ("cli-flag", r"(?i)--(?:password|passwd|pass|token|api-key|secret|client-secret|access-key)[= ](?P<s>[^\s\"']{1,1000})"),
    # Authorization: Bearer x / Basic x / token x; OTEL_EXPORTER_OTLP_HEADERS' Authorization=Basic%20x
    (
        "authorization-header",
        r"(?i)authorization\\?[\"']?\s{0,5}[:=]\s{0,5}\\?[\"']?"
        r"(?:(?:bearer|basic|token|digest|apikey|sharedkey|sharedaccesssignature|negotiate|ntlm|aws4-hmac-sha256)"
        r"(?:\s{1,5}|%20|\+))?(?P<s>[^\s\"',;\\]{1,1000})",
    ),
    ("bearer-token", r"(?i)\bbearer(?:\s{1,5}|%20)(?P<s>[A-Za-z0-9._~+/-]{8,1000}={0,2})"),
    ("cookie-header", r"(?i)\b(?:set-)?cookie\\?[\"']?\s{0,5}:\s{0,5}\\?[\"']?(?P<s>[^\r\n\"'\\]{1,1000})"),
    # scheme://user:password@host. It starts at "://": the old pattern began with the scheme's
    # unbounded character run and rescanned "a.a.a..." from every position (quadratic).
    ("url-password", r"://[^\s/?#@:\"'<>]{0,256}:(?P<s>[^\s/?#@\"'<>]{1,256})@"),
    # PEM private keys: the header line stays, the body goes (base64, escaped newlines as in JSON,
    # and the Proc-Type/DEK-Info lines of encrypted keys); the END line stops the body.
    (
        "pem-private-key",
        r"-{4,5} ?BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)? ?-{4,5}(?P<s>(?:[A-Za-z0-9+/=\s\\:,.]|-[A-Za-z0-9])+)",
    ),
    ("putty-private-key", r"Private-Lines:\s{0,4}\d{1,4}(?P<s>[A-Za-z0-9+/=\s\\]+)"),
)

# detect-secrets detectors that our own rules replace with a better span to redact: the private
# key detector matches only the BEGIN line, the JWT one has no left boundary.
_SKIPPED_DETECTORS = frozenset({"PrivateKeyDetector", "JwtTokenDetector"})
# Constructs RE2 refuses; detected up front because RE2 logs every failed compile to stderr.
_RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]|\{\d*,?(?:\d{4,}|[1-9]\d{3})\}")


@dataclass(frozen=True)
class Rule:
    """One pattern. ``group`` names the secret part (None: the whole match, delimiters trimmed)."""

    name: str
    pattern: str
    group: str | int | None = None


def own_rules() -> list[Rule]:
    """rootspan's rules: valid and linear under both RE2 and Python's ``re``."""
    return [Rule(name, pattern) for name, pattern in TOKEN_RULES] + [
        Rule(name, pattern, "s") for name, pattern in CONTEXT_RULES
    ]


def detect_secrets_rules() -> list[Rule]:
    """Every regex detector of the installed detect-secrets that RE2 can run; [] without it.

    A pattern whose first group is not where its match begins names the secret with that group
    (detect-secrets' ``://user:(password)@``, ``aws ... key = '(value)'``); otherwise the whole
    match is the secret.
    """
    try:
        plugins = importlib.import_module("detect_secrets.plugins")
        base = importlib.import_module("detect_secrets.plugins.base").RegexBasedDetector
    except Exception:  # noqa: BLE001 - not installed, or broken: our own rules still run
        return []
    rules: list[Rule] = []
    for info in pkgutil.iter_modules(plugins.__path__):
        try:
            module = importlib.import_module(f"detect_secrets.plugins.{info.name}")
        except Exception:  # noqa: BLE001 - one broken plugin must not cost the others
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, base) or cls is base:
                continue
            if name in _SKIPPED_DETECTORS:
                continue
            for index, compiled in enumerate(getattr(cls, "denylist", ()) or ()):
                rule = _from_detector(f"detect-secrets:{name}:{index}", compiled)
                if rule is not None:
                    rules.append(rule)
    return rules


def _from_detector(name: str, compiled: object) -> Rule | None:
    pattern = getattr(compiled, "pattern", None)
    flags = getattr(compiled, "flags", 0)
    if not isinstance(pattern, str) or _RE2_UNSUPPORTED.search(pattern):
        return None
    if flags & re.VERBOSE:
        if re.search(r"\s|#", pattern):
            return None  # RE2 has no verbose mode; a pattern without layout reads the same
    inline = ("i" if flags & re.IGNORECASE else "") + ("m" if flags & re.MULTILINE else "") + ("s" if flags & re.DOTALL else "")
    text = f"(?{inline}){pattern}" if inline else pattern
    starts_with_group = pattern.startswith("(") and not pattern.startswith("(?")
    has_group = re.compile(pattern).groups > 0 if _compiles(pattern) else False
    return Rule(name, text, 1 if has_group and not starts_with_group else None)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
