"""Energy analytics over a meter export: ingest -> cleaner -> analyst -> reporter.

The export for 1-7 March has two meters per site, half-day readings, and 8 rows re-sent by the
gateway. The ``dedupe_readings`` tool keys rows on (timestamp, site) instead of (timestamp,
meter_id), so besides the 8 re-sent rows it drops every reading of the second meter at each
site. The analyst's daily totals and means are computed correctly from the cleaned rows, and the
reporter restates them; both sites' mean daily consumption comes out far too low.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import csv, io, json

from harness import Scenario
import rootspan.tracer as rs

METERS = {"M-A1": "PLANT-A", "M-A2": "PLANT-A", "M-B1": "PLANT-B", "M-B2": "PLANT-B"}
BASE = {"M-A1": 1840.0, "M-A2": 1315.5, "M-B1": 962.25, "M-B2": 2104.0}


def _export() -> str:
    rows = ["timestamp,site,meter_id,kwh,voltage_avg,power_factor,gateway_fw"]
    for day in range(1, 8):
        for half, hour in enumerate(("00:00", "12:00")):
            for meter, site in METERS.items():
                kwh = BASE[meter] + 37.5 * ((day * 3 + half * 5 + len(meter)) % 7) - (120.0 if day in (2, 3) else 0.0)
                rows.append(f"2024-03-0{day}T{hour}:00Z,{site},{meter},{kwh:.2f},{229.1 + (day % 3) * 0.4:.1f},"
                            f"{0.91 + (day % 4) * 0.01:.2f},v2.3.1")
    # gateway GW-7 re-sent two batches: 1 March 12:00 (rows 5-8) and 5 March 12:00 (rows 37-40)
    resent = rows[5:9] + rows[37:41]
    return "\n".join(rows + resent) + "\n"


EXPORT = _export()
sc = Scenario(
    "meter-dedupe-wrong-key", klass="provenance",
    task="From the meter export for 1-7 March 2024, remove duplicate readings and report each site's mean daily "
         "energy use in kWh (all meters at the site combined), to the nearest kWh.",
    description="dedupe_readings keys on (timestamp, site) and silently drops the second meter at each site",
    category="tool_wrong_result",
)


@rs.tool("load_readings")
def load_readings(source: str, start: str, end: str) -> str:
    return EXPORT


@rs.tool("schema_check")
def schema_check(csv_text: str) -> dict:
    header = csv_text.splitlines()[0].split(",")
    return {"columns": header, "rows": len(csv_text.splitlines()) - 1, "ok": "meter_id" in header and "kwh" in header}


@rs.tool("dedupe_readings")
def dedupe_readings(csv_text: str) -> dict:
    seen, kept = set(), []
    reader = list(csv.DictReader(io.StringIO(csv_text)))
    for row in reader:
        key = (row["timestamp"], row["site"])
        if key not in seen:
            seen.add(key)
            kept.append(row)
    sc.mark_culprit(agent=None)
    return {"rows_in": len(reader), "rows_out": len(kept), "rows": kept}


@rs.tool("daily_site_means")
def daily_site_means(rows: list) -> dict:
    per_day: dict = {}
    for r in rows:
        key = (r["site"], r["timestamp"][:10])
        per_day[key] = per_day.get(key, 0.0) + float(r["kwh"])
    means: dict = {}
    for (site, _), total in per_day.items():
        means.setdefault(site, []).append(total)
    return {site: round(sum(v) / len(v), 1) for site, v in means.items()}


@rs.agent("ingest")
def ingest() -> str:
    text = load_readings("s3://ops-telemetry/meters/2024-03/export.csv", "2024-03-01", "2024-03-07")
    schema_check(text)
    return text


@rs.agent("cleaner")
def cleaner(text: str) -> list:
    return dedupe_readings(text)["rows"]


@rs.agent("analyst")
def analyst(rows: list) -> dict:
    return daily_site_means(rows)


@rs.agent("reporter")
def reporter(means: dict) -> dict:
    answer = {site: round(v) for site, v in means.items()}
    sc.llm(f"Report mean daily kWh per site for 1-7 March 2024: {json.dumps(means)}",
           "Mean daily energy use, 1-7 March 2024 (duplicates removed):\n"
           + "\n".join(f"- **{s}**: {v:,} kWh/day" for s, v in answer.items())
           + "\nPLANT-B ran slightly lower on 2-3 March, consistent with the scheduled line maintenance.")
    return answer


def app(sc):
    return reporter(analyst(cleaner(ingest())))


def check(answer):
    unique = {tuple(r.values()): r for r in csv.DictReader(io.StringIO(EXPORT))}.values()
    per_day: dict = {}
    for r in unique:
        key = (r["site"], r["timestamp"][:10])
        per_day[key] = per_day.get(key, 0.0) + float(r["kwh"])
    truth = {s: round(sum(v for (site, _), v in per_day.items() if site == s) / 7) for s in ("PLANT-A", "PLANT-B")}
    bad = {s: (answer.get(s), truth[s]) for s in truth if answer.get(s) != truth[s]}
    return (not bad, f"reported vs metered kWh/day: {bad}" if bad else "ok")


if __name__ == "__main__":
    sc.main(app, check)
