"""Lab automation, dilution prep: assay_summariser -> dilution_planner -> protocol_writer.

The plate reader export lists lot LOT-24-0317 at 12.5 mg/L. The summariser condensing the run for
the bench scientist writes it as 125 mg/L. The dilution planner applies C1V1 = C2V2 correctly to
that stock concentration (10.0 mL for 500 mL at 2.5 mg/L) and the protocol writer restates it in
mL and uL; the correct volume is 100 mL.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import re

from harness import Scenario
import rootspan.tracer as rs

RUN_0612 = """RUN-0612  PlateReader PR-3 (fw 4.2.0)  2024-06-12 09:41  method: AX7-UV-280
well  sample          dilution  abs_280  conc_mg_L  flag
A1    blank           1         0.003    0.0
A2    QC-STD-50       1         0.412    50.1       ok
B1    LOT-24-0311     1         0.968    118.0      ok
B2    LOT-24-0317     1         0.103    12.5       ok
B3    LOT-24-0320     1         0.791    96.4       ok
C1    LOT-24-0322     10        0.655    798.0      diluted
"""
sc = Scenario(
    "assay-decimal-dropped", klass="provenance",
    task="Prepare 500 mL of AX-7 working solution at 2.5 mg/L from lot LOT-24-0317, using the "
         "concentration measured in assay run RUN-0612. How much stock do I pipette?",
    description="the assay summariser reports LOT-24-0317 as 125 mg/L instead of 12.5 mg/L",
    expected=100.0, category="tool_output_misread",
)


@rs.tool("plate_reader_export")
def plate_reader_export(run_id: str) -> str:
    return RUN_0612


@rs.tool("dilution_calc")
def dilution_calc(stock_mg_l: float, target_mg_l: float, final_ml: float) -> dict:
    v1 = target_mg_l * final_ml / stock_mg_l
    return {"stock_ml": round(v1, 2), "diluent_ml": round(final_ml - v1, 2)}


@rs.agent("assay_summariser")
def assay_summariser(task: str) -> float:
    export = plate_reader_export("RUN-0612")
    reply = sc.llm(f"{task}\n\nSummarise the relevant result from this export:\n{export}",
                   "RUN-0612 passed QC (QC-STD-50 read 50.1 mg/L). Lot LOT-24-0317 measured **125 mg/L** "
                   "(well B2, undiluted).")
    sc.mark_culprit(agent="assay_summariser")
    return float(re.search(r"\*\*([\d.]+) mg/L", reply).group(1))


@rs.agent("dilution_planner")
def dilution_planner(stock: float) -> dict:
    return dilution_calc(stock, 2.5, 500)


@rs.agent("protocol_writer")
def protocol_writer(stock: float, plan: dict) -> float:
    sc.llm(f"Write bench steps. Stock {stock} mg/L, pipette {plan['stock_ml']} mL, diluent {plan['diluent_ml']} mL.",
           f"1. Pipette {plan['stock_ml']:.1f} mL ({plan['stock_ml'] * 1000:,.0f} uL) of LOT-24-0317 stock ({stock:g} mg/L) "
           f"into a 500 mL volumetric flask.\n2. Make up to the mark with {plan['diluent_ml']:.1f} mL PBS pH 7.4.\n"
           "3. Invert 10x and label AX-7 2.5 mg/L with today's date.")
    return plan["stock_ml"]


def app(sc):
    stock = assay_summariser(sc.task)
    plan = dilution_planner(stock)
    return protocol_writer(stock, plan)


def check(answer):
    if abs(answer - 100.0) > 0.5:
        return False, f"protocol pipettes {answer} mL of stock; 2.5 mg/L x 500 mL / 12.5 mg/L needs 100 mL"
    return True, "volume correct"


if __name__ == "__main__":
    sc.main(app, check)
