"""The ``schoolsync`` command: thin commands over the engine, and one error translator.

Every command parses, calls one engine function and renders. Errors leave here as a sentence on
stderr and an exit status (INTERFACE.md): 0 done, 1 failed, 2 usage, 3 held. Tracebacks are shown
only with ``--debug``.
"""

from __future__ import annotations

import sys

import click

from schoolsync.cli.app import cli
from schoolsync.cli.render import err_console
from schoolsync.errors import SchoolsyncError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the command line and exit with its status."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = cli.main(args=args, prog_name="schoolsync", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show(file=sys.stderr)
        code = exc.exit_code
    except click.Abort:
        err_console.print("Aborted; nothing was applied.")
        code = 1
    except SchoolsyncError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(exc.hint, highlight=False)
        code = exc.exit_code
    except KeyboardInterrupt:
        err_console.print("Interrupted; nothing was applied.")
        code = 130
    except Exception as exc:  # the last line of defence: never a traceback without --debug
        if debug:
            raise
        err_console.print(
            f"[bold red]Internal error:[/] schoolsync stopped unexpectedly "
            f"({type(exc).__name__}); nothing was applied. Run the same command with --debug to "
            f"see the details, and report them.",
            highlight=False,
        )
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
