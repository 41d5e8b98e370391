"""Value extraction: claims are told apart from identifiers, markers and versions; one quantity, one key."""

from __future__ import annotations

from rootspan.attribution.values import DATE, IDENTIFIER, NUMBER, extract, specificity


def kinds(text: str, kind: str) -> list[str]:
    return [value.key for value in extract(text) if value.kind == kind]


def test_digits_inside_identifiers_are_not_numbers() -> None:
    text = "Ticket A-17 links KB-12 and invoice INV-2024-0091 for SKU4411 (order #8812)."
    assert kinds(text, NUMBER) == []
    assert set(kinds(text, IDENTIFIER)) == {"i:a-17", "i:kb-12", "i:inv-2024-0091", "i:sku4411", "i:#8812"}


def test_list_markers_versions_and_times_are_not_claims() -> None:
    text = "1. upgrade to v2.3.1\n2. restart at 12:30\n3. done"
    assert kinds(text, NUMBER) == []


def test_one_quantity_written_three_ways_has_one_key() -> None:
    keys = {kinds(text, NUMBER)[0] for text in ("costs 1999", "costs 1,999", "costs 1999.00")}
    assert keys == {"n:1999"}


def test_units_and_currencies_come_from_symbols_words_and_json_keys() -> None:
    units = {value.key: value.unit for value in extract('{"price_cents": 183908} is $1,839.08, USD 600, 15% and 2.5 kg')}
    assert units == {"n:183908": "cents", "n:1839.08": "usd", "n:600": "usd", "n:15": "%", "n:2.5": "kg"}


def test_dates_in_three_notations_share_a_key() -> None:
    assert {kinds(text, DATE)[0] for text in ("on 2024-03-05", "on 3/5/2024", "on March 5, 2024")} == {"d:2024-03-05"}


def test_specific_values_weigh_more_than_counts() -> None:
    price, count = extract("$28 for 2")
    assert specificity(price) > specificity(count)


def test_a_day_and_month_without_a_year_is_a_date_not_two_numbers() -> None:
    from rootspan.attribution.values import DAY_MONTH

    text = "FinOps weekly (12-18 Sep): spend flat at ~$5.4k/day; next review Oct 2, flight on 3 March."
    assert kinds(text, DAY_MONTH) == ["dm:09-12", "dm:09-18", "dm:10-02", "dm:03-03"]
    assert kinds(text, NUMBER) == ["n:5400"]  # "$5.4k/day" is 5400 a day
    assert kinds("12–18 September 2024", DATE) == ["d:2024-09-12", "d:2024-09-18"]  # a range with its year
    # a lower-case month word is a verb, not a date
    assert kinds("you may 3 times march 5 miles", DAY_MONTH) == []


def test_dash_joined_digit_codes_are_identifiers_and_ranges_stay_numbers() -> None:
    assert kinds("SKU 88-40213, call 555-1234, ref 12-3456-78", IDENTIFIER) == ["i:88-40213", "i:555-1234", "i:12-3456-78"]
    assert kinds("takes 5-10 days, 1000-1500 units, in 1999-2004", NUMBER) == ["n:5", "n:10", "n:1000", "n:1500", "n:1999", "n:2004"]


def test_span_ids_hashes_and_uuids_are_identifiers_not_numbers() -> None:
    text = "trace 992dd226a71e82ff, commit 3f2a9c1, request 123e4567-e89b-12d3-a456-426614174000"
    assert kinds(text, NUMBER) == []
    assert set(kinds(text, IDENTIFIER)) == {"i:992dd226a71e82ff", "i:3f2a9c1", "i:123e4567-e89b-12d3-a456-426614174000"}
    assert kinds("12345678 units", NUMBER) == ["n:12345678"]  # digits alone are a number
