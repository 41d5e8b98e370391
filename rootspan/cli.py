"""The ``rootspan`` command: assembles every part's commands and turns errors into one line.

Parts register their commands in their own ``commands`` modules (cheap imports only, so that
``rootspan attribute`` never pays for torch). ``main`` runs click in non-standalone mode so that
usage errors, bad input and unexpected failures all end as one line on stderr with a meaningful
exit code: 0 fine, 1 a finding (a regression, a failed app), 2 bad input, 70 a bug in rootspan.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Sequence

try:  # typer >= 0.22 vendors its own click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses the click package
    from click import exceptions as click_exceptions

import typer

from rootspan.cli_app import app
from rootspan.errors import UserError
from rootspan.text import printable

COMMAND_MODULES = (
    "rootspan.commands",
    "rootspan.tracer.commands",
    "rootspan.profilers.commands",
    "rootspan.agents.commands",
    "rootspan.agents.moe.commands",
    "rootspan.attribution.commands",
    "rootspan.attribution.report.commands",
    "rootspan.tui.commands",
)

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        try:
            importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A part that is not installed (or not written yet) simply has no commands;
            # a missing dependency *inside* a part is a real error and propagates.
            if exc.name is None or not module_name.startswith(exc.name):
                raise


_register_commands()


def _error(message: str, code: int) -> int:
    first_line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    # Messages quote user input (paths, names, commands): escape ESC and other control bytes.
    print(f"rootspan: error: {printable(first_line)}", file=sys.stderr)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (what tests call)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="rootspan", standalone_mode=False)
    except UserError as exc:
        return _error(str(exc), exc.exit_code)
    except click_exceptions.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message())
            return EXIT_BAD_INPUT
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _error(exc.format_message() + hint, EXIT_BAD_INPUT)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        return _error("aborted", 130)
    except click_exceptions.ClickException as exc:
        return _error(exc.format_message(), exc.exit_code or 1)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into one line
        if os.environ.get("ROOTSPAN_DEBUG"):
            raise
        return _error(
            f"internal error: {type(exc).__name__}: {exc} (set ROOTSPAN_DEBUG=1 for the traceback)", EXIT_INTERNAL
        )
    return int(result) if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    code = run()
    sys.stdout.flush()
    sys.exit(code)
