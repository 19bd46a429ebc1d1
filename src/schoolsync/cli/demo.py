"""``schoolsync demo``, ``init`` and ``generate``: a synthetic municipality, an empty directory."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from schoolsync.cli import render
from schoolsync.cli.context import Env, exit_status, pass_env, today_option, wait_option
from schoolsync.cli.sync import show_result
from schoolsync.engine.run import RunResult, sync
from schoolsync.errors import SchoolsyncError

size_option = click.option(
    "--size",
    type=click.Choice(["tiny", "small", "medium", "large"]),
    default="small",
    show_default=True,
    help="How big a municipality to generate.",
)


@click.command("demo")
@size_option
@click.option("--seed", default=1, show_default=True, help="Seed of the generated data.")
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the generated bundle to this folder and keep it (default: a temporary folder).",
)
@today_option
@pass_env
def demo_command(env: Env, size: str, seed: int, keep: Path | None) -> int:
    """Generate the synthetic municipality and sync it into the directory.

    Exit status as for sync: 0 applied, 3 held by a safety lock. A held run's bundle is kept
    (in --keep DIR, else in a folder the message names), so that runs approve can apply it.
    """
    from schoolsync.generate import generate_bundle

    store = env.store(create=True)
    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="schoolsync-demo-"))
    bundle = folder if keep is not None else folder / "bundle"
    result: RunResult | None = None
    try:
        try:
            summary = generate_bundle(bundle, size, seed=seed, today=env.today)
        except OSError as exc:
            raise SchoolsyncError(
                f"Cannot write the demo bundle to {bundle}: {exc.strerror or exc}.",
                "Choose a --keep folder you may write to.",
            ) from exc
        render.console.print(
            f"Generated a {size} municipality: {summary.schools} school(s), "
            f"{summary.students} students, {summary.staff} staff, {summary.guardians} guardians "
            f"(seed {seed})."
        )
        render.console.print(
            f"Syncing it and its {len(summary.schedules)} schedule export(s) "
            f"({summary.dated_lessons} dated lessons) into {store.display} ..."
        )
        sources = [bundle, *summary.schedules]
        with render.progress_stages(True) as stage:
            result = sync(
                store, sources, env.settings(), env.today, stage=stage,
                on_commit=env.mark_committed,
            )  # fmt: skip
    finally:
        if keep is None and (result is None or result.status != "held"):
            shutil.rmtree(folder, ignore_errors=True)
    show_result(result, False)
    if result.status == "held":
        render.console.print(
            f"The generated bundle is kept in {bundle}, so that the approval can read it; "
            f"delete the folder when you are done."
        )
        return exit_status(result)
    if keep is not None:
        render.console.print(f"The generated bundle is in {bundle}.")
    render.console.print(
        "Next: schoolsync export | schoolsync runs | schoolsync runs show "
        f"{result.run_id} | schoolsync export --json"
    )
    return exit_status(result)


@click.command("init")
@wait_option
@pass_env
def init_command(env: Env, wait: float) -> None:
    """Create an empty directory at --db, or upgrade one made by an older schoolsync.

    Only init, sync and demo create a directory; every other command needs an existing one.
    Running init on an up-to-date directory changes nothing.
    """
    store = env.store(create=True)
    before = store.revision()
    store.migrate(create=True, wait=wait)
    after = store.revision()
    if before is None:
        render.console.print(f"Created an empty directory at {store.display} (schema {after}).")
    elif before != after:
        render.console.print(
            f"Upgraded the directory at {store.display} from schema {before} to {after}."
        )
    else:
        render.console.print(f"The directory at {store.display} is up to date (schema {after}).")


@click.command("generate")
@size_option
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write the SS 12000 bundle to (created if missing).",
)
@click.option("--seed", default=1, show_default=True, help="Same seed and --today, same files.")
@click.option("--faults/--no-faults", default=True, show_default=True,
              help="Sprinkle in realistic faults (invalid numbers, duplicates, ...).")  # fmt: skip
@today_option
@pass_env
def generate_command(env: Env, size: str, out: Path, seed: int, faults: bool) -> None:
    """Write a synthetic SS 12000 bundle (test personnummer only) to --out."""
    from schoolsync.generate import generate_bundle

    try:
        summary = generate_bundle(out, size, seed=seed, today=env.today, faults=faults)
    except OSError as exc:
        raise SchoolsyncError(
            f"Cannot write the bundle to {out}: {exc.strerror or exc}.",
            "Choose a folder you may write to.",
        ) from exc
    render.console.print(
        f"Wrote {summary.persons} persons ({summary.students} students, {summary.staff} staff, "
        f"{summary.guardians} guardians), {summary.schools} school units, {summary.groups} "
        f"groups and {summary.duties} duties to {out} (school year from "
        f"{summary.school_year_start.isoformat()}; {summary.test_numbers} test personnummer, "
        f"{summary.tf_numbers} TF numbers)."
    )
    if summary.schedules:
        render.console.print(
            f"Wrote {len(summary.schedules)} Skola24/Novaschem schedule export(s) under "
            f"{out / 'schedule'} ({summary.lesson_rows} lesson rows, {summary.dated_lessons} "
            f"dated lessons). Sync them with: schoolsync sync {out} {out / 'schedule'}/*.txt"
        )
    for fault in summary.faults:
        render.console.print(f"  fault: {fault}")
