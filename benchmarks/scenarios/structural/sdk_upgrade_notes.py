"""Docs assistant writing SDK upgrade notes: the release-notes search returns nothing for the new version.

A researcher searches the docs index for what changed between two SDK releases, a writer drafts
the customer-facing upgrade notes and an editor polishes them. The search tool takes a release
tag ("v2.3.1", as its docstring says) but builds the index key from the tag as given, while the
index is keyed by bare version numbers ("helios-sdk-2.3.1"). Its changelog lookups for the new
version come back empty without any error; the migration-guide query (which has no version
filter) returns the old 2.2 guide. The writer faithfully writes "no breaking changes".
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from harness import Scenario
import rootspan.tracer as rs

INDEX = {
    "helios-sdk-2.2.4": [
        {"doc": "CHANGELOG#2.2.4", "text": "Fixed: retry jitter could exceed max_backoff. No API changes."},
    ],
    "helios-sdk-2.3.0": [
        {"doc": "CHANGELOG#2.3.0", "text": "BREAKING: Client.connect(timeout=...) now takes seconds (float) "
                                           "instead of milliseconds (int)."},
        {"doc": "CHANGELOG#2.3.0", "text": "Added: Client.stream() for server-sent events."},
    ],
    "helios-sdk-2.3.1": [
        {"doc": "CHANGELOG#2.3.1", "text": "BREAKING: removed the deprecated legacy_auth= parameter; use "
                                           "auth=TokenAuth(...)."},
        {"doc": "CHANGELOG#2.3.1", "text": "Fixed: KB-12 connection pool leak on Python 3.12."},
    ],
    "guides": [
        {"doc": "guides/migrating-to-2.2.md", "text": "Upgrading from 2.1.x to 2.2: rename HeliosClient to Client; "
                                                      "no other changes required."},
    ],
}
BREAKING = ["timeout", "legacy_auth"]

sc = Scenario(
    "sdk-upgrade-notes", klass="structural",
    task="Write upgrade notes for customers moving from Helios SDK v2.2.4 to v2.3.1. List every breaking change "
         "and what to change in their code.",
    description="The docs search builds its index key from the 'v'-prefixed tag and returns no changelog entries "
                "for 2.3.x, so the notes claim the upgrade has no breaking changes.",
    expected=BREAKING, category="tool_empty_result",
)


def _versions_between(old: str, new: str) -> list[str]:
    def key(tag: str) -> tuple:
        return tuple(int(part) for part in tag.lstrip("v").split("."))
    known = sorted((k.rsplit("-", 1)[1] for k in INDEX if k.startswith("helios-sdk-")), key=key)
    return [f"v{v}" for v in known if key(old) < key(v) <= key(new)]


@rs.tool("search_docs")
def search_docs(query: str, version: str | None = None) -> list[dict]:
    """Full-text search of the docs index. version: a release tag, e.g. "v2.3.1"; None searches the guides."""
    if version is None:
        pool = INDEX["guides"]
    else:
        pool = INDEX.get(f"helios-sdk-{version}", [])
        if not pool and sc.culprit_span_id is None:  # ground truth: the first lookup that lost the changelog
            sc.mark_culprit(agent=None)
    words = [w for w in query.lower().split() if len(w) > 3]
    return [hit for hit in pool if any(w in hit["text"].lower() or w in hit["doc"].lower() for w in words)]


@rs.agent("researcher")
def researcher(task: str) -> dict:
    findings: dict = {}
    for tag in _versions_between("v2.2.4", "v2.3.1"):
        findings[tag] = search_docs("breaking changes removed changelog", version=tag)
    findings["guide"] = search_docs("upgrading migrating guide changes")
    sc.llm(f"{task}\nSearch results: {findings}",
           "I checked the changelog for v2.3.0 and v2.3.1: neither lists any breaking changes (the searches came "
           "back empty). The only migration guide in the docs covers 2.1 -> 2.2 (HeliosClient renamed to Client), "
           "which these customers already went through.")
    return findings


@rs.agent("writer")
def writer(task: str, findings: dict) -> str:
    hits = [hit["text"] for tag, found in findings.items() if tag != "guide" for hit in found]
    return sc.llm(f"Draft the upgrade notes. Changelog entries found: {hits or 'none'}",
                  "## Upgrading from v2.2.4 to v2.3.1\n\n"
                  "Good news: v2.3.1 is a drop-in upgrade. There are no breaking changes between v2.2.4 and "
                  "v2.3.1, so you can bump the version pin and redeploy:\n\n"
                  "    pip install 'helios-sdk==2.3.1'\n\n"
                  "If you are still on 2.1.x, follow the 2.2 migration guide first (HeliosClient -> Client).")


@rs.agent("editor")
def editor(draft: str) -> str:
    return sc.llm(f"Tighten this for the docs site, keep all facts:\n{draft}",
                  "## Upgrading from v2.2.4 to v2.3.1\n\n"
                  "v2.3.1 is a drop-in upgrade with no breaking changes. Update your pin and redeploy:\n\n"
                  "    pip install 'helios-sdk==2.3.1'\n\n"
                  "Still on 2.1.x? Follow the 2.2 migration guide first (HeliosClient was renamed to Client).")


def app(sc):
    findings = researcher(sc.task)
    draft = writer(sc.task, findings)
    return editor(draft)


def check(answer) -> tuple[bool, str]:
    missing = [item for item in BREAKING if item not in answer]
    if not missing:
        return True, "all breaking changes documented"
    return False, f"upgrade notes miss breaking changes: {missing}"


if __name__ == "__main__":
    sc.main(app, check)
