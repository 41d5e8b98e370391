"""The typer application objects, separate from cli.py so each part can register its commands.

Every part (tracer, agents, attribution, tui...) adds its commands from its own ``commands``
module by importing these objects; cli.py imports those modules. Nothing heavy is imported here.
"""

import typer

CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="rootspan",
    help="Which agent broke a multi-agent LLM run, at which step, and why it was slow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)
bench_app = typer.Typer(help="Benchmarks that print JSON with --json (figures go in docs/benchmarks.md).", no_args_is_help=True)
export_app = typer.Typer(help="Export a run to other tools' formats.", no_args_is_help=True)
import_app = typer.Typer(help="Convert other tools' logs into run directories.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure attribution accuracy on labelled data sets.", no_args_is_help=True)

app.add_typer(bench_app, name="bench")
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")
app.add_typer(eval_app, name="eval")


def _print_version(value: bool) -> None:
    if value:
        from rootspan import __version__

        typer.echo(f"rootspan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
) -> None:
    """Which agent broke a multi-agent LLM run, at which step, and why it was slow."""
