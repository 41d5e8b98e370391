"""Building-services design assistant: load_engineer -> equipment_selector -> report_writer.

The client brief requires every quantity in SI units. The load engineer computes the zone's
cooling load (kW) and supply airflow (m3/h) correctly. The equipment catalogue lists each unit in
both SI and US units; the selector writes its specification in BTU/h, CFM and inches of water. The
report writer restates the selector's figures and correctly works out the 7% capacity margin
against the load converted to BTU/h; the report is full of imperial units.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import json, re

from harness import Scenario
import rootspan.tracer as rs

CATALOG = [
    {"model": "FXMQ-125-PB", "cooling_kw": 12.5, "cooling_btu_h": 42650, "airflow_m3_h": 2100, "airflow_cfm": 1236,
     "esp_pa": 150, "esp_in_wg": 0.60, "sound_db_a": 38},
    {"model": "FXMQ-140-PB", "cooling_kw": 14.0, "cooling_btu_h": 47770, "airflow_m3_h": 2520, "airflow_cfm": 1483,
     "esp_pa": 150, "esp_in_wg": 0.60, "sound_db_a": 40},
    {"model": "FXMQ-160-PB", "cooling_kw": 16.0, "cooling_btu_h": 54590, "airflow_m3_h": 2760, "airflow_cfm": 1624,
     "esp_pa": 200, "esp_in_wg": 0.80, "sound_db_a": 43},
]
sc = Scenario(
    "hvac-spec-imperial-units", klass="constraint",
    task="Size cooling for zone Z-3 of the Lyon office fit-out (420 m2 open plan, 38 occupants, 8 W/m2 lighting, "
         "12 W/m2 small power, 1.85 kW solar gain) and write the equipment summary for the client. "
         "All quantities must be in SI units (kW, m3/h, Pa, degC).",
    description="the equipment selector specifies the unit in BTU/h, CFM and in. w.g. despite the SI-only brief",
    category="disobey_task_spec",
)


@rs.tool("cooling_load")
def cooling_load(area_m2: float, occupants: int, lighting_w_m2: float, power_w_m2: float, solar_kw: float) -> dict:
    people = occupants * 0.075
    internal = area_m2 * (lighting_w_m2 + power_w_m2) / 1000
    total = round(people + internal + solar_kw, 2)
    return {"people_kw": round(people, 2), "internal_kw": round(internal, 2), "solar_kw": solar_kw, "total_kw": total}


@rs.tool("supply_airflow")
def supply_airflow(sensible_kw: float, delta_t_c: float) -> dict:
    return {"m3_h": round(sensible_kw * 3600 / (1.2 * 1.005 * delta_t_c)), "delta_t_c": delta_t_c}


@rs.tool("equipment_catalog")
def equipment_catalog(family: str, min_kw: float) -> list:
    return [u for u in CATALOG if u["cooling_kw"] >= min_kw * 0.9]


@rs.agent("load_engineer")
def load_engineer(task: str) -> dict:
    load = cooling_load(420, 38, 8, 12, 1.85)
    air = supply_airflow(load["total_kw"] * 0.85, 10)
    return {**load, "airflow_m3_h": air["m3_h"]}


@rs.agent("equipment_selector")
def equipment_selector(load: dict) -> dict:
    units = equipment_catalog("ducted fan coil", load["total_kw"])
    reply = sc.llm(
        f"Zone Z-3 load {json.dumps(load)}. Pick a unit and write its spec line.\nCatalogue: {json.dumps(units)}",
        "**Selected unit: FXMQ-140-PB**\n- Cooling capacity: 47,770 BTU/h\n- Supply airflow: 1,483 CFM\n"
        "- External static pressure: 0.60 in. w.g.\n- Sound: 40 dB(A)\nIt covers the design load with a "
        "comfortable margin at a low sound level.",
    )
    sc.mark_culprit(agent="equipment_selector")
    return {"model": re.search(r"unit: (\S+)\*\*", reply).group(1), "spec": reply.split("\n", 1)[1].split("\nIt ")[0]}


@rs.agent("report_writer")
def report_writer(load: dict, unit: dict) -> str:
    load_btu = round(load["total_kw"] * 3412.14)
    margin = round((47770 / load_btu - 1) * 100)
    return sc.llm(
        f"Write the client summary. Load {json.dumps(load)}; unit {unit['model']}:\n{unit['spec']}",
        f"## Zone Z-3 cooling summary\nDesign load: {load['total_kw']} kW (people {load['people_kw']} kW, lighting and "
        f"small power {load['internal_kw']} kW, solar {load['solar_kw']} kW).\n\n### Proposed equipment: {unit['model']}\n"
        f"{unit['spec']}\n\nCapacity margin: {margin}% over the design load ({load_btu:,} BTU/h).",
    )


def app(sc):
    load = load_engineer(sc.task)
    return report_writer(load, equipment_selector(load))


def check(answer):
    found = sorted(set(re.findall(r"BTU/h|CFM|in\. w\.g\.|degF|°F", answer)))
    return (not found, f"report uses non-SI units: {', '.join(found)}" if found else "ok")


if __name__ == "__main__":
    sc.main(app, check)
