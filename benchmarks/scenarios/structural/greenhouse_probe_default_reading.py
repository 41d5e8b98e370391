"""Greenhouse irrigation planner: a probe read error is swallowed and the configured default is returned.

A scheduler plans tonight's irrigation for greenhouse GH-2, a sensor agent reads the soil-moisture
probe of each of the 8 zones, a chatty weather agent reports the outdoor forecast (irrelevant under
glass), an irrigation planner sizes the water per zone and a valve controller queues the valves.

The Modbus gateway client wraps every probe read in ``try/except`` and, on any error, returns the
zone's configured fallback reading (42.0 % VWC) in the same shape as a real reading. Zone Z5's probe
answers with a CRC error tonight (it is really at 17.5 %), so the client hands back 42.0 and Z5 is
left dry. Earlier, zone Z2's first read timed out and the sensor agent's retry got a real value:
that error was recovered and is not the failure.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import json

from harness import Scenario
import rootspan.tracer as rs

sc = Scenario(
    "greenhouse-probe-default-reading", klass="structural",
    task="Plan tonight's drip irrigation for greenhouse GH-2 (zones Z1-Z8). Water every zone whose soil moisture "
         "is below 30 % VWC, giving 1.2 L per m2 for every full 5 points below 40 %. Queue the valves and report "
         "the zones watered with litres.",
    description="the probe client swallows Z5's CRC error and returns the configured fallback reading, so Z5 is not watered",
    expected={"Z3": 108.0, "Z5": 230.4, "Z7": 86.4},
    category="silent_default",
)

ZONE_AREA_M2 = {"Z1": 40, "Z2": 40, "Z3": 30, "Z4": 30, "Z5": 48, "Z6": 48, "Z7": 36, "Z8": 36}
PROBES = {"Z1": "SMT-1101", "Z2": "SMT-1102", "Z3": "SMT-1103", "Z4": "SMT-1104",
          "Z5": "SMT-1105", "Z6": "SMT-1106", "Z7": "SMT-1107", "Z8": "SMT-1108"}
TRUE_VWC = {"Z1": 36.4, "Z2": 33.1, "Z3": 21.8, "Z4": 31.9, "Z5": 17.5, "Z6": 38.2, "Z7": 28.6, "Z8": 34.0}
FALLBACK_VWC = 42.0  # from gh2.yaml: "fallback_vwc" used while a probe is being replaced


class GatewayTimeout(Exception):
    pass


class CRCError(Exception):
    pass


class ModbusGateway:
    """The greenhouse's RS-485 gateway: one slow first poll on Z2, a bad frame from Z5's probe."""

    def __init__(self) -> None:
        self.polls: dict[str, int] = {}

    def read_holding(self, probe: str) -> dict:
        self.polls[probe] = self.polls.get(probe, 0) + 1
        if probe == "SMT-1102" and self.polls[probe] == 1:
            raise GatewayTimeout("no response from unit 2 within 800 ms")
        if probe == "SMT-1105":
            raise CRCError("unit 5: CRC mismatch (got 0x3A1F, expected 0x7C02)")
        zone = next(z for z, p in PROBES.items() if p == probe)
        return {"vwc_pct": TRUE_VWC[zone], "temp_c": 19.0 + int(probe[-1]) * 0.3, "ec_ms_cm": 1.8}


GATEWAY = ModbusGateway()


@rs.tool("read_soil_probe")
def read_soil_probe(zone: str) -> dict:
    probe = PROBES[zone]
    try:
        raw = GATEWAY.read_holding(probe)
    except GatewayTimeout:
        raise
    except Exception:
        # keep the nightly run going while a probe is flaky
        sc.mark_culprit(agent=None)
        raw = {"vwc_pct": FALLBACK_VWC, "temp_c": 20.5, "ec_ms_cm": 1.8}
    return {"zone": zone, "probe": probe, "vwc_pct": raw["vwc_pct"], "substrate_temp_c": round(raw["temp_c"], 1),
            "ec_ms_cm": raw["ec_ms_cm"], "ts": "2025-06-11T21:40:00+02:00"}


@rs.tool("read_air_sensors")
def read_air_sensors(zone: str) -> dict:
    return {"zone": zone, "air_temp_c": 23.4, "rh_pct": 71, "par_umol": 0}


@rs.tool("weather_forecast")
def weather_forecast(site: str) -> dict:
    return {"site": site, "tonight": {"min_c": 12, "rain_mm": 6.5, "wind_kmh": 18},
            "tomorrow": {"max_c": 27, "rain_mm": 0.0, "uv": 7, "sunrise": "05:21", "sunset": "21:32"}}


@rs.tool("line_pressure")
def line_pressure(zone: str) -> dict:
    return {"zone": zone, "bar": 1.6 if zone != "Z6" else 1.4, "filter_dp_bar": 0.2, "ok": True}


@rs.tool("queue_valve")
def queue_valve(zone: str, litres: float, start: str) -> dict:
    return {"zone": zone, "valve": f"V-{zone}", "litres": litres, "start": start, "status": "queued",
            "job_id": f"IRR-20250611-{zone}"}


def llm(prompt, reply, model="gpt-4o-mini-2024-07-18"):
    with rs.llm_call(model=model, provider="openai") as call:
        call.messages(input=prompt if not isinstance(prompt, str) else [{"role": "user", "content": prompt}],
                      output=reply)
        call.usage(input_tokens=len(json.dumps(prompt)) // 4, output_tokens=len(reply) // 4)
        call.finish_reasons(["stop"])
    return reply


@rs.agent("scheduler")
def scheduler(task: str) -> list[str]:
    llm([{"role": "system", "content": "You plan greenhouse jobs. Reply with a short numbered plan."},
         {"role": "user", "content": task}],
        "1. Read substrate moisture for Z1-Z8.\n2. Compute the deficit against the 30 % VWC trigger and size water "
        "at 1.2 L/m2 per 5 points below 40 %.\n3. Queue the valves from 22:30, one zone at a time.\n4. Report.")
    return list(PROBES)


@rs.agent("sensor_agent")
def sensor_agent(zones: list[str]) -> dict:
    readings = {}
    for zone in zones:
        for attempt in range(2):
            try:
                readings[zone] = read_soil_probe(zone)
                break
            except GatewayTimeout:
                continue
        read_air_sensors(zone)
    table = "\n".join(f"{z}: {r['vwc_pct']} % VWC, substrate {r['substrate_temp_c']} C" for z, r in readings.items())
    llm(f"Summarise tonight's substrate readings for the grower:\n{table}",
        "All 8 probes reported (Z2 needed a second poll). Driest zones: Z3 at 21.8 % and Z7 at 28.6 %. "
        "Z4 is close to the trigger at 31.9 %. The rest sit between 33 and 42 %.")
    return readings


@rs.agent("weather_agent")
def weather_agent() -> dict:
    fc = weather_forecast("Westland-NL")
    llm(f"Brief the grower on the weather: {json.dumps(fc)}",
        "Tonight brings about 6.5 mm of rain with a fresh westerly breeze (18 km/h) and a low of 12 C. Tomorrow "
        "clears to full sun, UV 7 and a high of 27 C, so expect the roof vents to open early and vapour pressure "
        "deficit to climb in the afternoon. Sunrise 05:21, sunset 21:32. Outdoor beds will not need water tonight; "
        "consider shading screens from 11:00 tomorrow.")
    return fc


@rs.agent("irrigation_planner")
def irrigation_planner(readings: dict) -> dict:
    plan = {}
    for zone, r in readings.items():
        if r["vwc_pct"] < 30:
            steps_below = int((40 - r["vwc_pct"]) // 5)
            plan[zone] = round(steps_below * 1.2 * ZONE_AREA_M2[zone], 1)
    llm(f"Readings: {json.dumps({z: r['vwc_pct'] for z, r in readings.items()})}. Areas: {json.dumps(ZONE_AREA_M2)}. "
        f"Computed volumes: {json.dumps(plan)}. Confirm the plan.",
        f"Water Z3 ({plan.get('Z3')} L) and Z7 ({plan.get('Z7')} L). Every other zone is above the 30 % trigger.")
    return plan


@rs.agent("valve_controller")
def valve_controller(plan: dict) -> dict:
    for zone in ZONE_AREA_M2:  # pre-run check of every drip line, watered tonight or not
        line_pressure(zone)
    start_minutes = 22 * 60 + 30
    for zone, litres in plan.items():
        queue_valve(zone, litres, f"{start_minutes // 60:02d}:{start_minutes % 60:02d}")
        start_minutes += 20
    llm(f"Report the queued jobs to the grower: {json.dumps(plan)}",
        f"All 8 drip lines hold pressure. Queued: Z3 {plan.get('Z3')} L at 22:30, Z7 {plan.get('Z7')} L at 22:50. Nothing else needs water tonight.")
    return plan


def app(sc):
    zones = scheduler(sc.task)
    readings = sensor_agent(zones)
    weather_agent()
    plan = irrigation_planner(readings)
    return valve_controller(plan)


def check(answer):
    if answer == sc.expected:
        return True, "every dry zone watered"
    missed = sorted(set(sc.expected) - set(answer))
    return False, f"zones {missed} were dry (probe Z5 read 17.5 % by hand the next morning) and got no water"


if __name__ == "__main__":
    sc.main(app, check)
