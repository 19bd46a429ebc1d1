"""The ``schoolsync`` command: thin commands over the engine, and one error translator.

Every command parses, calls one engine function and renders. Errors leave here as a sentence on
stderr and an exit status (INTERFACE.md): 0 done, 1 failed, 2 usage, 3 held. Tracebacks are shown
only with ``--debug``.

Once a run has committed, nothing that happens afterwards (Ctrl-C, a closed or full output) turns
its status into "nothing applied": the command says the run was applied and exits with the run's
own status.

This module imports nothing heavy at import time, so that :func:`main` can catch a Ctrl-C that
comes while the rest of schoolsync is being imported.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO, cast

if TYPE_CHECKING:
    import click

    from schoolsync.cli.context import Env

__all__ = ["cli", "main"]

STARTUP_INTERRUPTED = "Interrupted while starting; nothing was done."


def __getattr__(name: str) -> Any:
    if name == "cli":  # the click group, imported only when asked for
        from schoolsync.cli.app import cli

        return cli
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    """Run the command line and exit with its status."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        import click

        from schoolsync.cli.app import cli
        from schoolsync.cli.context import Env
    except KeyboardInterrupt:
        sys.stderr.write(STARTUP_INTERRUPTED + "\n")
        sys.exit(130)
    env = Env()
    stdout = sys.stdout
    sys.stdout = cast(TextIO, _GuardedOutput(stdout))
    terminate = _stop_like_ctrl_c()
    try:
        code = _run(cli, env, args, click)
    finally:
        sys.stdout = stdout
        if terminate is not None:
            signal.signal(signal.SIGTERM, terminate)
    sys.exit(code)


def _terminated(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _stop_like_ctrl_c() -> Any:
    """SIGTERM (a service manager's or cron's stop) ends a command as Ctrl-C does: nothing
    half-applied, temporary folders (an API read's, which hold the register) removed. Returns
    the handler it replaced (None outside the main thread, where none can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _terminated)


def _run(cli: click.Group, env: Env, args: list[str], click: Any) -> int:
    """Run one command; every way it can end becomes an exit status and at most a sentence."""
    from schoolsync.cli import render
    from schoolsync.errors import OutputError, SchoolsyncError

    debug = "--debug" in args
    try:
        bad = _undecodable(args)
        if bad is not None:
            render.error(
                f"The argument {bad!r} is not valid UTF-8 text, so schoolsync cannot use it "
                f"as a name or a path.",
                "Write names and paths in UTF-8 (check the terminal's or the script's encoding), "
                "or rename the file.",
            )
            return 2
        with cli.make_context("schoolsync", args, obj=env) as ctx:
            result = cli.invoke(ctx)
            sys.stdout.flush()
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show(file=sys.stderr)
        return int(exc.exit_code)
    except click.Abort:
        return _interrupted(env, "Aborted", 1)
    except KeyboardInterrupt:
        return _interrupted(env, "Interrupted", 130)
    except OutputError as exc:
        _silence_stdout()
        what = (
            "its output was closed"
            if exc.broken_pipe
            else f"its report could not be written: {exc.reason}"
        )
        committed = _after_commit(env, what)
        if committed is not None:
            return committed
        if exc.broken_pipe:
            return _stop(
                "The output was closed before schoolsync finished (broken pipe); "
                "nothing was applied."
            )
        return _stop(f"{exc.message} Nothing was applied.", exc.hint)
    except SchoolsyncError as exc:
        if debug:
            raise
        render.error(exc.message, exc.hint, label="Error:")
        return 1
    except RecursionError as exc:  # e.g. a settings file nested thousands deep
        if debug:
            raise
        render.error(
            f"An input is nested too deeply to be read ({type(exc).__name__}); nothing was "
            f"applied.",
            "Check the settings file and the sources for runaway nesting.",
            label="Error:",
        )
        return 1
    except Exception as exc:  # the last line of defence: never a traceback without --debug
        if debug:
            raise
        committed = _after_commit(env, f"then schoolsync stopped ({type(exc).__name__})")
        if committed is not None:
            return committed
        render.error(
            f"schoolsync stopped unexpectedly ({type(exc).__name__}); nothing was applied. Run "
            f"the same command with --debug to see the details, and report them.",
            label="Internal error:",
        )
        return 1


def _interrupted(env: Env, what: str, code: int) -> int:
    committed = _after_commit(env, f"{what.lower()} afterwards")
    return committed if committed is not None else _stop(f"{what}; nothing was applied.", code=code)


def _after_commit(env: Env, what: str) -> int | None:
    """When a run has committed: say so, and return the run's own exit status."""
    if env.committed is None:
        return None
    from schoolsync.cli import render

    run_id, status = env.committed
    if status == "held":
        render.error(
            f"Run {run_id} was held by a safety lock and recorded ({what}); nothing was applied.",
            f"See: schoolsync runs show {run_id}",
        )
        return 3
    render.error(
        f"Run {run_id} was applied ({what}).", f"See what it did: schoolsync runs show {run_id}"
    )
    return 0


def _stop(message: str, hint: str = "", code: int = 1) -> int:
    from schoolsync.cli import render

    with contextlib.suppress(OSError):
        render.error(message, hint)
    return code


def _undecodable(args: list[str]) -> str | None:
    """The first argument holding bytes that are not UTF-8 (surrogate-escaped by Python)."""
    for arg in args:
        if any("\udc80" <= ch <= "\udcff" for ch in arg):
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit cannot fail a second time."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a file (tests' in-memory streams)
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


class _GuardedOutput:
    """stdout, with a failed write turned into an :class:`OutputError` (a sentence, not a crash)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise _output_error(exc) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise _output_error(exc) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _output_error(exc: OSError) -> Exception:
    from schoolsync.errors import OutputError

    reason = exc.strerror or type(exc).__name__
    return OutputError(
        f"schoolsync could not write its output: {reason}.",
        "Write the output somewhere with free space (or check the pipe it goes to).",
        broken_pipe=exc.errno == errno.EPIPE or isinstance(exc, BrokenPipeError),
        reason=reason,
    )
