"""The values a step states: numbers with their units, dates, identifiers, names, paths, decisions.

Provenance follows *values*, not words: a wrong number, date, name or yes/no that reaches a failing
output entered the run somewhere, and that step is the likely culprit. Extraction has to tell a
claim from the furniture around it: the digits of an identifier ("A-17", "INV-2024-0091"), a list
marker ("1."), a version string ("v2.3.1") or the parts of a date are not claims, and the same
quantity written three ways ("1999", "1,999", "1999.00") is one value.

Hand-written because no maintained library does this job: number parsers (``price-parser``,
``quantulum3``) handle one number in a short string, and NER models need weights we cannot load;
these regular expressions are linear in the text (no nested quantifiers) so untrusted dumps of
megabytes cannot make them slow.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_VALUES = 400  # per text: long dumps hold thousands of numbers; provenance needs the gist

NUMBER = "number"
DATE = "date"
DAY_MONTH = "day_month"  # a date written without its year ("16 Sep"): key "dm:09-16"
IDENTIFIER = "identifier"
QUOTED = "quoted"
NAME = "name"
PATH = "path"
URL = "url"
CODE = "code"
DECISION = "decision"

CLAIM_KINDS = frozenset({NUMBER, DATE, DAY_MONTH, QUOTED, NAME, DECISION})  # what a step can be wrong about


@dataclass(frozen=True)
class Value:
    """One value in a text: its kind, the key that matches it wherever it appears, and its unit."""

    kind: str
    key: str  # normalised: "n:1999", "d:2024-03-05", "i:inv-2024-0091", "p:lisbon"
    raw: str
    start: int
    number: float | None = None
    unit: str | None = None  # "usd", "cents", "%", "kg", ... for numbers

    @property
    def shown(self) -> str:
        return self.raw.strip()


# identifiers: letters joined to digits by - _ # / or directly ("A-17", "KB-12", "SKU4411", "#8812")
_IDENTIFIER = re.compile(
    r"(?:[A-Za-z]{1,12}(?:[-_][A-Za-z]{1,12}){0,3}[-_#]?\d[\w-]*|#\d[\w-]*|\d+[-_][A-Z][\w-]*|\d+[A-Z]+\d[A-Z\d]*|\d+[-_][a-z]+\d[\w-]*|[A-Za-z]+\d+[A-Za-z][\w-]*)"
)
# an identifier is a whole token (a run of word characters, '-' and '#') holding a digit: cutting
# the text into such tokens first and matching each whole is several times faster than scanning
# every position with look-arounds
_DIGIT_TOKEN = re.compile(r"[\w#-]*\d[\w#-]*")
_DIGIT_GROUPS = re.compile(r"\d{1,8}(?:-\d{1,8}){1,4}")


# span and trace ids, hashes, git SHAs, UUIDs: hex with digits and letters ("992dd226a71e82ff")
_HEX_TOKEN = re.compile(r"[0-9a-fA-F]{7,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def _hex_id(raw: str) -> bool:
    return bool(_HEX_TOKEN.fullmatch(raw)) and any(ch.isdigit() for ch in raw) and any(ch.isalpha() for ch in raw)


def _numeric_code(raw: str) -> bool:
    """A dash-joined code of digits (SKU "88-40213", "555-1234", "12-3456-78"), not a range.

    "5-10 days" and "1000-1500 units" are ranges (groups of one length, or short ones); a code has
    three or more groups, or groups of different lengths with one of four digits or more.
    """
    if not _DIGIT_GROUPS.fullmatch(raw):
        return False
    groups = raw.split("-")
    lengths = {len(group) for group in groups}
    return len(groups) >= 3 or (len(lengths) > 1 and max(lengths) >= 4)
_VERSION = re.compile(r"(?<![\w.])v?\d+\.\d+\.\d+(?:[.-]\w+)?(?![\w.])|(?<![\w.])v\d+(?:\.\d+)?(?![\w.])")
_V_DIGIT = re.compile(r"v\d")  # "v2": the only version form without a dot; most prose holds a "v"
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?Z?)?(?!\d)")
_SLASH_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_MONTHS = "january february march april may june july august september october november december".split()
_MONTH_RE = "|".join(m[:3] + r"(?:" + m[3:] + r")?" for m in _MONTHS)
_WORD_DATE = re.compile(
    rf"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})|({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}))\b",
    re.I,
)
_CLOCK = re.compile(r"\d{2}:\d{2}")
_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")
_LIST_MARKER = re.compile(r"(?m)^\s*(?:\d{1,3}[.)]|\(\d{1,3}\))\s")
# A number, its currency, and the word right after it (checked against the units in Python: an
# alternation of sixty unit words tried after every number was the extractor's slowest part).
_NUMBER = re.compile(
    r"(?<![\w.])(?<![A-Za-z]-)(?P<cur>[$€£¥]|(?:USD|EUR|GBP|JPY|CHF|CAD|AUD)\s)?\s?(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)"
    r"(?P<tail>\s?%|[\s-]?[A-Za-z°][A-Za-z°/]*)?",
    re.I,
)
_UNIT_WORDS = frozenset(
    """percent usd eur gbp jpy dollar dollars euro euros cent cents pound pounds kg g mg lb lbs oz km m cm mm mi mile miles ft
    feet in inch inches l ml gal gallon gallons h hr hrs hour hours min minute minutes s sec second seconds ms day days week weeks
    month months year years gb mb kb tb °c °f c f btu btu/h cfm psi gpm item items unit units pcs people night nights""".split()
)
_QUOTED = re.compile(r"[\"“']([^\"”'\n]{3,60})[\"”']")
_PATH_EXTENSION = re.compile(r"\.(?:csv|json|jsonl|py|txt|xlsx|xls|pdf|docx|md|png|jpg|yaml|yml|sql|log|html|xml|zip)\b", re.I)
_PATH = re.compile(r"(?<![\w/])(?:/[\w.\-]+){2,}|\b[\w\-]+\.(?:csv|json|jsonl|py|txt|xlsx|xls|pdf|docx|md|png|jpg|yaml|yml|sql|log|html|xml|zip)\b", re.I)
_URL = re.compile(r"https?://[^\s)\]\"'<>]+")
_CODE = re.compile(r"`([A-Za-z_][\w.]*(?:\(\))?)`|\b([a-z]+_[a-z_]+\w*)\(")
_NAME = re.compile(r"(?<![\w.])(?:[A-Z][a-z]+|[A-Z]{2,}[a-z]*)(?:[ -](?:[A-Z][a-z]+|[A-Z]{2,}|de|da|van|von|of|the)){0,3}")
_DECISION = re.compile(
    r"(?im)^\W*(?P<word>yes|no|approved?|rejected?|accept(?:ed)?|decline[d]?|pass(?:ed)?|fail(?:ed)?|true|false|valid|invalid|correct|incorrect|lgtm)\b"
)
_DECISION_SIGN = {
    "yes": "yes", "approve": "yes", "approved": "yes", "accept": "yes", "accepted": "yes", "pass": "yes",
    "passed": "yes", "true": "yes", "valid": "yes", "correct": "yes", "lgtm": "yes",
    "no": "no", "reject": "no", "rejected": "no", "decline": "no", "declined": "no", "fail": "no",
    "failed": "no", "false": "no", "invalid": "no", "incorrect": "no",
}
# Words that start sentences or are structure, not names of things.
_NOT_NAMES = frozenset(
    """the a an i it this that these those we you he she they there here then so and or but if when while
    for of in on at to by with from as is are was were be been note step final answer total result yes no
    ok okay sure thanks thank hello hi please let now next first second third also however therefore based
    json csv sql api id url http https true false none null error warning info debug task plan summary
    monday tuesday wednesday thursday friday saturday sunday my your our their his her its me us them
    done dear great good welcome sorry unfortunately""".split()
) | frozenset(_MONTHS) | frozenset(m[:3] for m in _MONTHS)

_UNIT_ALIASES = {
    "$": "usd", "usd": "usd", "chf": "chf", "cad": "cad", "aud": "aud", "dollar": "usd", "dollars": "usd", "€": "eur", "eur": "eur", "euro": "eur", "euros": "eur",
    "£": "gbp", "gbp": "gbp", "pound": "gbp", "pounds": "gbp", "¥": "jpy", "jpy": "jpy", "cent": "cents", "cents": "cents",
    "%": "%", "percent": "%", "lb": "lb", "lbs": "lb", "mile": "mi", "miles": "mi", "feet": "ft", "inches": "in",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "minute": "min", "minutes": "min", "sec": "s", "second": "s",
    "seconds": "s", "gallon": "gal", "gallons": "gal", "day": "day", "days": "day", "week": "week", "weeks": "week",
    "month": "month", "months": "month", "year": "year", "years": "year", "item": "item", "items": "item",
    "unit": "item", "units": "item", "pcs": "item", "night": "night", "nights": "night",
}
_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}  # "m" only after a currency: $5m
# JSON keys and snake_case names that carry a unit ("price_cents", "weight_kg", "duration_ms")
_KEY_UNIT = re.compile(r"[\"']?\w*?_(cents|usd|eur|gbp|kg|g|lb|lbs|km|m|mi|ms|s|sec|min|h|hours|days|pct|percent)[\"']?\s*[:=]\s*$", re.I)


def number_key(value: float) -> str:
    """One key for one quantity however it was written (1999, 1,999, 1999.00 -> 'n:1999')."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return f"n:{int(value)}"
    return "n:" + f"{value:.6g}"


def _unit(match: re.Match[str], text: str, tail_unit: str | None) -> str | None:
    raw = (match.group("cur") or "").strip().lower() or tail_unit
    if raw:
        return _UNIT_ALIASES.get(raw, raw)
    before = text[max(0, match.start() - 40) : match.start()]
    keyed = _KEY_UNIT.search(before) if "_" in before else None  # only "price_cents: 1999" has a key unit
    if keyed:
        unit = keyed.group(1).lower()
        return {"pct": "%", "percent": "%", "sec": "s", "hours": "h", "lbs": "lb"}.get(unit, unit)
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    if 1 <= month <= 12 and 1 <= day <= 31:
        return f"d:{year:04d}-{month:02d}-{day:02d}"
    return None


def _month(name: str) -> int:
    return next(index for index, month in enumerate(_MONTHS, 1) if name.lower().startswith(month[:3]))


_MONTH_STEMS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _date_values(text: str, taken: list[tuple[int, int]]) -> list[Value]:
    found: list[Value] = []
    # each pattern runs only when the text holds the character it needs: most span texts hold
    # no date at all, and extraction runs twice per span
    for match in _ISO_DATE.finditer(text) if "-" in text else ():
        key = _iso(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        clock = _CLOCK.search(match.group(0), 10)
        if key and clock and clock.group(0) != "00:00":
            key += "T" + clock.group(0)  # a meeting at 15:00 is another claim than one at 10:00 that day
        if key:
            found.append(Value(DATE, key, match.group(0), match.start()))
            taken.append(match.span())
    for match in _SLASH_DATE.finditer(text) if "/" in text else ():
        first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        key = _iso(year, first, second) if first <= 12 else _iso(year, second, first)
        if key:
            found.append(Value(DATE, key, match.group(0), match.start()))
            taken.append(match.span())
    lower = text.lower()
    for match in _WORD_DATE.finditer(text) if any(month in lower for month in _MONTH_STEMS) else ():
        if match.group(1):
            key = _iso(int(match.group(3)), _month(match.group(2)), int(match.group(1)))
        else:
            key = _iso(int(match.group(6)), _month(match.group(4)), int(match.group(5)))
        if key:
            found.append(Value(DATE, key, match.group(0), match.start()))
            taken.append(match.span())
    if any(month in lower for month in _MONTH_STEMS):
        found.extend(_partial_dates(text, taken))
    return found


# "12-18 Sep", "3 March", "Sep 16", "June 3-5": a day and month with no year. The year is implied
# by the run (the task's "2024-09-12 to 2024-09-18"), so these are dates ("dm:09-16"), supported by
# any full date of that day and month, and their numbers are not quantities.
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
# Month names count only capitalised ("May 3", "SEP 16"): "you may 3 times" and "march 5 miles" are verbs.
_CAPITAL_MONTH = "|".join(
    alternative for m in _MONTHS for alternative in (m[:3].capitalize() + r"(?:" + m[3:] + r")?", m[:3].upper() + r"(?:" + m[3:].upper() + r")?")
)
_DAY_MONTH = re.compile(rf"\b{_DAY}(?:\s?[-–]\s?{_DAY})?\s+({_CAPITAL_MONTH})\b\.?(?:,?\s+(\d{{4}})\b)?")
_MONTH_DAY = re.compile(rf"\b({_CAPITAL_MONTH})\.?\s+{_DAY}(?:\s?[-–]\s?{_DAY})?\b(?:,?\s+(\d{{4}})\b)?")


def day_month_key(key: str) -> str | None:
    """The day-and-month key a full date also supports ("d:2024-09-16..." -> "dm:09-16")."""
    return "dm:" + key[7:12] if key.startswith("d:") and len(key) >= 12 else None


def _partial_dates(text: str, taken: list[tuple[int, int]]) -> list[Value]:
    found: list[Value] = []
    for pattern, day_groups, month_group, year_group in ((_DAY_MONTH, (1, 2), 3, 4), (_MONTH_DAY, (2, 3), 1, 4)):
        for match in pattern.finditer(text):
            month = _month(match.group(month_group))
            year = match.group(year_group)
            for group in day_groups:
                day = match.group(group)
                if day is None or _inside(match.start(group), taken):
                    continue
                if year:
                    key = _iso(int(year), month, int(day))
                    if key:
                        found.append(Value(DATE, key, match.group(0), match.start(group)))
                elif 1 <= int(day) <= 31:
                    found.append(Value(DAY_MONTH, f"dm:{month:02d}-{int(day):02d}", match.group(0), match.start(group)))
            taken.append(match.span())
    return found


def date_values(text: str) -> list[Value]:
    """Only the dates of a text (ISO, slash, word forms and yearless ones): cheaper than ``extract``."""
    return _date_values(text, [])


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def extract(text: str, limit: int = MAX_VALUES) -> list[Value]:
    """Every value in the text, in order of appearance (at most ``limit``)."""
    if not text:
        return []
    taken: list[tuple[int, int]] = []
    found: list[Value] = []
    if "://" in text:
        for match in _URL.finditer(text):
            found.append(Value(URL, "u:" + match.group(0).rstrip(".,;").lower(), match.group(0), match.start()))
            taken.append(match.span())
    # (the file-name form tries every word: run it only when a file extension is there at all)
    for match in _PATH.finditer(text) if ("/" in text or ("." in text and _PATH_EXTENSION.search(text))) else ():
        if not _inside(match.start(), taken):
            found.append(Value(PATH, "f:" + match.group(0).lower(), match.group(0), match.start()))
            taken.append(match.span())
    found.extend(_date_values(text, taken))
    for pattern, needs in ((_VERSION, "."), (_TIME, ":"), (_LIST_MARKER, ".")):
        if needs in text or (pattern is _VERSION and _V_DIGIT.search(text)) or (pattern is _LIST_MARKER and ")" in text):
            taken.extend(match.span() for match in pattern.finditer(text))
    for match in _DIGIT_TOKEN.finditer(text):
        raw = match.group(0)
        if raw.isdigit() or _inside(match.start(), taken):
            continue
        start = match.start()
        if raw.startswith("#") and not _IDENTIFIER.fullmatch(raw):
            raw, start = raw[1:], start + 1
        if not (_IDENTIFIER.fullmatch(raw) or _numeric_code(raw) or _hex_id(raw)):
            continue
        found.append(Value(IDENTIFIER, "i:" + raw.lower(), raw, start))
        taken.append((start, start + len(raw)))
    number_spans: list[tuple[int, int]] = []
    for match in _NUMBER.finditer(text):
        start = match.start("num")
        if _inside(start, taken):
            continue
        try:
            number = float(match.group("num").replace(",", ""))
        except ValueError:
            continue
        tail = match.group("tail") or ""
        word = tail.strip().lower()
        end = match.end()
        tail_unit = None
        scale = word.split("/", 1)[0]  # "$5.4k/day" is 5400 a day
        if scale in _MULTIPLIERS and not tail.startswith("-") and (scale != "m" or match.group("cur")):
            number *= _MULTIPLIERS[scale]
        elif word == "%":
            tail_unit = "%"
        elif word.lstrip("-") in _UNIT_WORDS:
            tail_unit = word.lstrip("-")
        else:
            end = match.end("num")  # the next word is not part of the value
        if not math.isfinite(number):
            continue
        unit = _unit(match, text, tail_unit)
        raw = text[match.start() : end]
        begin = match.start() + len(raw) - len(raw.lstrip())
        found.append(Value(NUMBER, number_key(number), raw.strip(), begin, number=number, unit=unit))
        number_spans.append((match.start(), end))
        if len(found) >= limit:
            break
    if "'" in text or '"' in text or "“" in text:
        for match in _QUOTED.finditer(text):
            phrase = " ".join(match.group(1).lower().split())
            if text[match.end() : match.end() + 2].lstrip().startswith(":"):
                continue  # a JSON key is structure, not a value
            if _inside(match.start(1), taken):
                continue  # a quoted date, id or path is that value, not a phrase beside it
            if any(ch.isalpha() for ch in phrase) and len(phrase.split()) <= 4:  # a sentence is prose, not a value
                found.append(Value(QUOTED, "q:" + phrase, match.group(1), match.start()))
    for match in _CODE.finditer(text) if ("`" in text or "(" in text) else ():
        symbol = match.group(1) or match.group(2)
        found.append(Value(CODE, "c:" + symbol.lower(), symbol, match.start()))
    for match in _DECISION.finditer(text):
        word = match.group("word").lower()
        found.append(Value(DECISION, "y:" + _DECISION_SIGN.get(word, word), match.group("word"), match.start()))
    found.extend(name for name in names(text) if not _inside(name.start, taken) and not _inside(name.start, number_spans))
    found.sort(key=lambda value: value.start)
    return found[:limit]


def names(text: str, limit: int = 200) -> list[Value]:
    """Proper names: capitalised words not at a sentence start, or runs of two or more."""
    found: list[Value] = []
    for match in _NAME.finditer(text):
        raw = match.group(0)
        words = raw.split()
        if words[0].lower() in _NOT_NAMES:
            words = words[1:]
            if not words:
                continue
            raw = " ".join(words)
        if text[match.end() : match.end() + 1] in ("-", "_") or text[max(0, match.start() - 1) : match.start()] in ("-", "_"):
            continue  # part of an identifier or a code ("PLANT-A", "EMEA-South", "ERR_TIMEOUT")
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".!?:\n-*#>|\"'“([{" or before.endswith("**")
        if len(words) == 1 and (sentence_start or len(raw) < 3 or raw.lower() in _NOT_NAMES):
            continue
        found.append(Value(NAME, "p:" + raw.lower(), raw, match.start()))
        if len(found) >= limit:
            break
    return found


def claims(values: list[Value]) -> list[Value]:
    """The values that are claims a step can be wrong about (not identifiers, paths or code)."""
    return [value for value in values if value.kind in CLAIM_KINDS]


def is_small_count(value: Value) -> bool:
    """0..10 without a unit, written as a whole number: counts and ordinals that every text is
    full of ("10.0" is a measured quantity)."""
    return (value.kind == NUMBER and value.unit is None and value.number is not None and value.number == int(value.number)
            and 0 <= value.number <= 10 and "." not in value.raw)


def specificity(value: Value) -> float:
    """How much a value identifies a claim: 1 for a quantity with a unit or three digits or a date,
    less for a name or a phrase, least for a small count. A wrong answer is told apart by its
    specific values; "2" or "Done" appear in right and wrong answers alike."""
    if value.kind == NUMBER:
        if is_small_count(value):
            return 0.3
        digits = len(value.key[2:].lstrip("-").replace(".", "").strip("0"))
        return 1.0 if value.unit is not None or digits >= 3 else 0.7
    if value.kind == DATE:
        return 1.0
    if value.kind == DAY_MONTH:
        return 0.7  # a day and month without the year: as specific as a two-digit number
    if value.kind in (NAME, QUOTED):
        return 0.6
    return 0.4


def is_year(value: Value) -> bool:
    """1900..2100 written as a bare integer: "2024" is a year, "1945.00" and "1,999" are amounts."""
    return (value.kind == NUMBER and value.unit is None and value.number is not None and value.number == int(value.number)
            and 1900 <= value.number <= 2100 and value.raw.strip().lstrip("+-").isdigit())
