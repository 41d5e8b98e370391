"""A corpus of secret formats for the redaction tests: each with text holding the secret and a
near miss that looks alike but is not a secret (and must come through unchanged).

The fake secrets are assembled from pieces at import so no file holds a string that a secret
scanner would flag as a real credential; their shapes follow each vendor's documented format.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    text: str  # contains the secret
    secret: str  # must not survive redaction
    near_miss: str  # must survive redaction unchanged


def _alnum(n: int, seed: int = 7) -> str:
    chars = "aB3dE5fG7hJ9kLmN2pQ4rS6tU8vW0xYz"
    return "".join(chars[(i * seed + seed) % len(chars)] for i in range(n))


def _hex(n: int, seed: int = 5) -> str:
    return "".join("0123456789abcdef"[(i * seed + 3) % 16] for i in range(n))


def _b64(n: int) -> str:
    return base64.b64encode(bytes((i * 37 + 11) % 256 for i in range(n))).decode()


A36, A40, HEX32, HEX40, HEX64 = _alnum(36), _alnum(40), _hex(32), _hex(40), _hex(64)
UUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ" + "." + _alnum(43)
PEM_BODY = "\n".join(_b64(48) for _ in range(6))
PEM_RSA = "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----"
PEM_ENCRYPTED = (
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC," + _hex(32).upper()
    + "\n\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----"
)
PEM_OPENSSH = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + PEM_BODY + "\n-----END OPENSSH PRIVATE KEY-----"
PEM_PKCS8 = "-----BEGIN PRIVATE KEY-----\n" + PEM_BODY + "\n-----END PRIVATE KEY-----"
PEM_EC = "-----BEGIN EC PRIVATE KEY-----\n" + PEM_BODY + "\n-----END EC PRIVATE KEY-----"
PEM_PGP = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n" + PEM_BODY + "\n-----END PGP PRIVATE KEY BLOCK-----"
PUBLIC_CERT = "-----BEGIN CERTIFICATE-----\n" + PEM_BODY + "\n-----END CERTIFICATE-----"
BODY_LINE = PEM_BODY.splitlines()[2]
AZURE_KEY = _b64(64)  # 88 characters, like a storage account key
SAS_SIG = "q" + _alnum(42) + "%3D"
GIT_SHA = HEX40


def _c(name: str, text: str, secret: str, near_miss: str) -> Case:
    assert secret in text, name
    return Case(name, text, secret, near_miss)


CASES: list[Case] = [
    # keyword assignments (env files, code, config)
    _c("env DB_PASSWORD", "DB_PASSWORD=hunter2-" + A36[:8], "hunter2-" + A36[:8], "see the password policy for rules"),
    _c("env SECRET_KEY", "SECRET_KEY=" + A40, A40, "the secretary left a note"),
    _c("env AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY=" + A40, A40, "keep your secrets safe, it said"),
    _c("env API_TOKEN", "API_TOKEN=" + A36, A36, "max_tokens=1024 and token_count: 77"),
    _c("env GITHUB_TOKEN spaced", "export GITHUB_TOKEN = '" + A36 + "'", A36, "the tokenizer splits words"),
    _c("client_secret", "client_secret=" + A36, A36, "client_id=web-frontend"),
    _c("clientSecret yaml", "clientSecret: " + A36, A36, "clientName: web-frontend"),
    _c("passwd colon", "passwd: " + A36[:12], A36[:12], "passwordless login is enabled"),
    _c("pwd connection", "Server=db;Uid=app;Pwd=" + A36[:14] + ";", A36[:14], "cd $PWD_DIR && ls"),
    _c("DB_PASS", "DB_PASS=" + A36[:16], A36[:16], "bypass=true is a flag name"),
    _c("api_key python", 'api_key = "' + A36 + '"', A36, 'primary_key = "order_id"'),
    _c("apiKey js", "apiKey: '" + A36 + "'", A36, "apiVersion: '2024-01-01'"),
    _c("private_key_passphrase", "private_key_passphrase=" + A36[:20], A36[:20], "private_key_path=/etc/app/key.pem"),
    _c("password quoted with spaces", 'password = "correct horse ' + A36[:6] + '"', "correct horse " + A36[:6], "password reset link sent"),
    _c("cli --password", "mysql --user=app --password=" + A36[:16], A36[:16], "use --password-file instead"),
    # JSON keys (already encoded text)
    _c("json token", '{"token": "' + A36 + '", "max_tokens": 100}', A36, '{"tokens": 512, "max_tokens": 100}'),
    _c("json password", '{"user": "ann", "password": "' + A36[:14] + '"}', A36[:14], '{"user": "ann", "password_set": true}'),
    _c("json access_token", '{"access_token":"' + A40 + '","expires_in":3600}', A40, '{"token_type":"Bearer","expires_in":3600}'),
    _c("json escaped", '{\\"secret\\": \\"' + A36 + '\\"}', A36, '{\\"secretary\\": \\"Ann\\"}'),
    _c("json refresh_token", '"refresh_token": "' + A40 + '"', A40, '"refresh_interval": "30s"'),
    # HTTP headers
    _c("Authorization Bearer", "Authorization: Bearer " + A40, A40, "the bearer of good news"),
    _c("Authorization Basic", "Authorization: Basic " + base64.b64encode(b"ann:" + A36[:10].encode()).decode(),
       base64.b64encode(b"ann:" + A36[:10].encode()).decode(), "a basic understanding of HTTP"),
    _c("OTLP headers Basic", "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic%20" + _b64(24), _b64(24), "OTEL_EXPORTER_OTLP_COMPRESSION=gzip"),
    _c("Authorization token", "Authorization: token " + A40, A40, "Authorization failed for user ann"),
    _c("x-api-key", "x-api-key: " + A36, A36, "x-request-id: " + UUID),
    _c("x-api-key json", '{"x-api-key": "' + A36 + '"}', A36, '{"x-request-id": "' + UUID + '"}'),
    _c("Cookie header", "Cookie: session=" + A40 + "; theme=dark", A40, "we use a cookie policy banner"),
    # URLs
    _c("postgres url", "postgres://app:" + A36[:16] + "@db.internal:5432/orders", A36[:16], "postgres://db.internal:5432/orders"),
    _c("https basic url", "https://ann:" + A36[:12] + "@example.com/x", A36[:12], "https://example.com:8443/x"),
    _c("redis url", "redis://:" + A36[:20] + "@cache:6379/0", A36[:20], "mailto:ann@example.com"),
    _c("url query token", "https://api.example.com/v1/items?access_token=" + A40 + "&page=2", A40,
       "https://api.example.com/v1/items/" + UUID + "?page=2"),
    # PEM and key files
    _c("PEM RSA", PEM_RSA, BODY_LINE, PUBLIC_CERT),
    _c("PEM encrypted", PEM_ENCRYPTED, BODY_LINE, "-----BEGIN PUBLIC KEY-----\n" + PEM_BODY + "\n-----END PUBLIC KEY-----"),
    _c("PEM OpenSSH", PEM_OPENSSH, BODY_LINE, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 ann@laptop is a public key line"),
    _c("PEM PKCS8 in JSON", '{"private_key": "' + PEM_PKCS8.replace("\n", "\\n") + '"}', BODY_LINE, '{"private_key_id_hint": "none"}'),
    _c("PEM EC", PEM_EC, BODY_LINE, "the EC private key must be rotated"),
    _c("PGP private block", PEM_PGP, BODY_LINE, "-----BEGIN PGP SIGNATURE-----"),
    # JWT
    _c("JWT bare", "session " + JWT + " expired", JWT, "eyJhbGciOiJIUzI1NiJ9 alone is only a header"),
    # AWS
    _c("AWS access key id", "key id AKIA" + "IOSFODNN7" + "EXAMPLQ", "AKIA" + "IOSFODNN7" + "EXAMPLQ", "AKIAS is not a key"),
    _c("AWS session id", "ASIA" + "Y34FZKBOKMUTVV7A" + " in logs", "ASIA" + "Y34FZKBOKMUTVV7A", "ASIAN food at noon"),
    _c("aws_session_token", "aws_session_token = " + _b64(60), _b64(60), "aws_region = eu-west-1"),
    # Azure
    _c("Azure storage connection string",
       "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=" + AZURE_KEY + ";EndpointSuffix=core.windows.net",
       AZURE_KEY, "DefaultEndpointsProtocol=https;AccountName=shop;EndpointSuffix=core.windows.net"),
    _c("Azure SAS sig", "https://shop.blob.core.windows.net/c/x.csv?sv=2022-11-02&se=2030-01-01&sig=" + SAS_SIG,
       SAS_SIG, "https://shop.blob.core.windows.net/c/x.csv?sv=2022-11-02&design=flat"),
    _c("Azure Service Bus key", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=" + _b64(32),
       _b64(32), "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root"),
    _c("Azure AD client secret", "secret value abc8Q~" + _alnum(34), "abc8Q~" + _alnum(34), "Q~ is a quote in this wiki"),
    # GCP
    _c("GCP OAuth ya29", "Authorization header value ya29." + _alnum(60), "ya29." + _alnum(60), "ya29 is a sample name"),
    _c("GCP API key", "key=AIza" + _alnum(35), "AIza" + _alnum(35), "AIzawa is a surname"),
    _c("GCP service account", '{"type": "service_account", "private_key": "' + PEM_PKCS8.replace("\n", "\\n") + '"}',
       BODY_LINE, '{"type": "service_account", "client_email": "bot@proj.iam.gserviceaccount.com"}'),
    _c("GCP client secret", "GOCSPX-" + _alnum(28), "GOCSPX-" + _alnum(28), "GOCSPX is a prefix"),
    # VCS
    _c("GitHub ghp_", "token ghp_" + A36, "ghp_" + A36, "commit " + GIT_SHA),
    _c("GitHub gho_", "gho_" + A36, "gho_" + A36, "gho is a place"),
    _c("GitHub fine-grained", "github_pat_" + _alnum(22) + "_" + _alnum(59), "github_pat_" + _alnum(22) + "_" + _alnum(59),
       "github_path_prefix = src"),
    _c("GitLab glpat-", "glpat-" + _alnum(20), "glpat-" + _alnum(20), "glpat is short"),
    # chat and payment
    _c("Slack bot", "xoxb-" + "1234567890-1234567890123-" + _alnum(24), "xoxb-" + "1234567890-1234567890123-" + _alnum(24),
       "xox is a game"),
    _c("Slack app", "xapp-1-A0" + _alnum(9) + "-1234567890123-" + _hex(64), "xapp-1-A0" + _alnum(9) + "-1234567890123-" + _hex(64),
       "xapp-config.json"),
    _c("Slack webhook", "https://hooks.slack.com/services/T0" + _alnum(8) + "/B0" + _alnum(8) + "/" + _alnum(24),
       _alnum(24), "https://slack.com/help"),
    _c("Stripe live secret", "sk_live_" + _alnum(24), "sk_live_" + _alnum(24), "sk_live is the prefix"),
    _c("Stripe restricted", "rk_live_" + _alnum(24), "rk_live_" + _alnum(24), "rk_live_docs"),
    _c("SendGrid", "SG." + _alnum(22) + "." + _alnum(43), "SG." + _alnum(22) + "." + _alnum(43), "SG.1 is a section"),
    _c("Twilio account sid", "AC" + HEX32, "AC" + HEX32, "ACME corp " + HEX32),
    _c("Twilio auth token", "TWILIO_AUTH_TOKEN=" + HEX32, HEX32, "TWILIO_ACCOUNT_REGION=ie1"),
    # package registries and ML platforms
    _c("npm token", "npm_" + A36, "npm_" + A36, "npm_config_cache=/tmp/npm"),
    _c("npmrc authToken", "//registry.npmjs.org/:_authToken=" + UUID, UUID, "//registry.npmjs.org/:always-auth=false"),
    _c("PyPI token", "pypi-AgEIcHlwaS5vcmc" + _alnum(80), "pypi-AgEIcHlwaS5vcmc" + _alnum(80), "pypi-simple index"),
    _c("Hugging Face", "hf_" + _alnum(34), "hf_" + _alnum(34), "hf_hub_download(repo)"),
    _c("Langfuse secret", "sk-lf-" + UUID, "sk-lf-" + UUID, "sk-lf is Langfuse's prefix"),
    _c("Langfuse public", "pk-lf-" + UUID, "pk-lf-" + UUID, "pk-lf docs"),
    _c("OpenAI legacy", "sk-" + _alnum(48), "sk-" + _alnum(48), "use sk-learn, not sk-image"),
    _c("OpenAI project", "sk-proj-" + _alnum(40) + "-" + _alnum(40), "sk-proj-" + _alnum(40) + "-" + _alnum(40), "the task-force met"),
    _c("Anthropic", "sk-ant-api03-" + _alnum(80) + "-" + _alnum(6) + "AA", "sk-ant-api03-" + _alnum(80) + "-" + _alnum(6) + "AA",
       "sk-ant is mentioned in prose"),
    _c("Groq", "gsk_" + _alnum(52), "gsk_" + _alnum(52), "gsk_ prefix"),
    _c("Replicate", "r8_" + _alnum(37), "r8_" + _alnum(37), "r8_engine"),
    # other infrastructure
    _c("Vault token", "hvs." + _alnum(90), "hvs." + _alnum(90), "hvs.example"),
    _c("DigitalOcean", "dop_v1_" + HEX64, "dop_v1_" + HEX64, "dop_v1 docs"),
    _c("Shopify", "shpat_" + HEX32, "shpat_" + HEX32, "shpat_ example"),
    _c("Databricks", "dapi" + HEX32, "dapi" + HEX32, "dapi docs " + HEX32),
    _c("Telegram bot", "bot 123456789:AA" + _alnum(33), "123456789:AA" + _alnum(33), "at 12:30:45 on 2024-05-01"),
    _c("Discord bot", "MTA" + _alnum(23) + "." + _alnum(6) + "." + _alnum(27), "MTA" + _alnum(23) + "." + _alnum(6) + "." + _alnum(27),
       "version 1.2.3"),
    _c("Mailchimp", HEX32 + "-us14", HEX32 + "-us14", "region us14"),
    _c("XML password element", "<user>ann</user><password>" + A36[:14] + "</password>", A36[:14], "<password_hint>pet name</password_hint>"),
    _c("XML ApiKey element", "<ApiKey>" + A36 + "</ApiKey>", A36, "<ApiVersion>2</ApiVersion>"),
    _c(".netrc", "machine api.example.com login ann password " + A36[:18], A36[:18], "machine api.example.com login ann"),
    _c("docker config auth", '{"auths": {"ghcr.io": {"auth": "' + _b64(30) + '"}}}', _b64(30), '{"author": "ann"}'),
    _c("Azure APIM subscription key", "Ocp-Apim-Subscription-Key: " + HEX32, HEX32, "Ocp-Apim-Trace: true"),
    _c("PGPASSWORD", "PGPASSWORD=" + A36[:12] + " psql", A36[:12], "PGHOST=db psql"),
    _c("mongodb+srv url", "mongodb+srv://app:" + A36[:16] + "@cluster0.example.net/db", A36[:16], "mongodb+srv://cluster0.example.net/db"),
    _c("Discord webhook", "https://discord.com/api/webhooks/123456789012345678/" + _alnum(68), _alnum(68), "https://discord.com/channels/1/2"),
    _c("Square", "sq0csp-" + _alnum(43), "sq0csp-" + _alnum(43), "sq0 is a prefix"),
    _c("New Relic", "NRAK-" + _alnum(27).upper(), "NRAK-" + _alnum(27).upper(), "NRAK is a prefix"),
    _c("Atlassian", "ATATT3" + _alnum(180), "ATATT3" + _alnum(180), "ATATT3 in prose"),
    _c("Figma", "figd_" + _alnum(43), "figd_" + _alnum(43), "figd_ notes"),
    _c("Perplexity", "pplx-" + _alnum(48), "pplx-" + _alnum(48), "pplx-api docs"),
    _c("LangSmith", "lsv2_pt_" + HEX32 + "_" + _hex(10), "lsv2_pt_" + HEX32 + "_" + _hex(10), "lsv2_pt prefix"),
    _c("Pinecone", "pcsk_" + _alnum(60), "pcsk_" + _alnum(60), "pcsk_ prefix"),
    _c("age secret key", "AGE-SECRET-KEY-1" + "QYZ" * 19 + "Q", "AGE-SECRET-KEY-1" + "QYZ" * 19 + "Q", "age1ql3z7hjy54pw3hyww5ay is a public recipient"),
]

# Strings that hold no secret and must come through unchanged, whatever else surrounds them.
PLAIN: list[str] = [
    "commit " + GIT_SHA + " fixed the refund path",
    "GET /api/v1/orders/" + UUID + "/items HTTP/1.1",
    "sk- is how the docs abbreviate 'skip'",
    "max_tokens: 4096, temperature: 0.2, top_p: 0.9",
    "The password policy requires twelve characters.",
    "token usage: input_tokens=812 output_tokens=96",
    "sha256:" + HEX64,
    "https://docs.example.com/guide#secret-management",
    "Bearer tokens are described in RFC 6750.",
]
