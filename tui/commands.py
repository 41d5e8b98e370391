"""Registers ``rootspan view RUN [RUN2]``; Textual is imported only when the command runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from rootspan.cli_app import app


def interactive_terminal() -> bool:
    """Textual's terminal driver reads the real stdin and draws on the real stderr; without a
    terminal on both it would draw escape codes into a pipe forever. `textual serve` (and any
    other driver) is chosen through TEXTUAL_DRIVER and needs no terminal."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return True
    streams = (sys.__stdin__, sys.__stderr__)
    return all(stream is not None and stream.isatty() for stream in streams)


@app.command("view")
def view_command(
    run_path: Path = typer.Argument(..., metavar="RUN", help="A run directory or a traces.jsonl file."),
    candidate: Optional[Path] = typer.Argument(
        None, metavar="RUN2", help="A second run: opens the diff view (RUN is the baseline)."
    ),
    merge: list[Path] = typer.Option(
        [], "--merge", metavar="RUN", help="Another run directory holding parts of RUN's traces (e.g. rootspan serve's), "
        "merged into RUN by trace id; repeatable."
    ),
) -> None:
    """The terminal UI: traces, waterfall and agent lanes, span detail, blame; with RUN2, a diff.

    Press ? inside for every key. Also runs in a browser: textual serve "rootspan view RUN".
    """
    from rootspan.errors import UserError
    from rootspan.tui.data import check_traces_path

    # Cheap checks first, so a wrong path is a one-line error before the screen is taken over;
    # the full parse runs in the app's worker thread.
    check_traces_path(run_path)
    for path in merge:
        check_traces_path(path)
    if candidate is not None:
        check_traces_path(candidate)

    if not interactive_terminal():
        raise UserError("view needs an interactive terminal (stdin and stderr); `rootspan spans RUN` prints a plain table")

    from rootspan.tui.app import RootspanApp

    viewer = RootspanApp(run_path, candidate, merge=merge)
    viewer.run()
    if viewer.load_error:
        raise UserError(viewer.load_error)
    if viewer.crash is not None:
        # The CLI turns this into one line and exit 70 (a traceback only with ROOTSPAN_DEBUG=1).
        raise viewer.crash
