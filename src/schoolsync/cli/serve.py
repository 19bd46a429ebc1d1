"""``schoolsync serve`` (the web interface, the REST API and the OneRoster service), and
``schoolsync admin user …`` / ``admin token …`` / ``admin client …`` (who may use them)."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from schoolsync.cli import render
from schoolsync.cli.context import Env, pass_env, today_option
from schoolsync.store import access


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--secure-cookies/--plain-cookies",
    default=None,
    help="Send the session cookie over https only. Default: on, except when listening on a "
    "loopback address (plain http on the machine itself); give it behind a TLS proxy on the "
    "same machine.",
)
@today_option
@pass_env
def serve_command(env: Env, host: str, port: int, secure_cookies: bool | None) -> None:
    """Serve the directory: the web interface at / (users from `admin user add`), the REST
    API at /api/v1 (bearer tokens from `admin token add`; OpenAPI at /api/v1/openapi.json) and
    the OneRoster 1.2 service at /ims/oneroster/rostering/v1p2 (clients from `admin client
    add`). Reads never wait for a sync that is running."""
    import uvicorn

    from schoolsync.settings import DEFAULT_CONFIG_FILE
    from schoolsync.web.app import create_app

    store = env.store()
    store.migrate(create=False)
    settings = env.settings()
    loopback = _is_loopback(host)
    config = env.config or (
        Path(DEFAULT_CONFIG_FILE) if Path(DEFAULT_CONFIG_FILE).exists() else None
    )
    app = create_app(
        store,
        settings,
        lambda: env.today,  # --today, else each day's date
        secure_cookies=not loopback if secure_cookies is None else secure_cookies,
        settings_file=config.resolve() if config else None,
    )
    where = f"[{host}]" if ":" in host else host
    if not loopback:
        render.err_console.print(
            f"Serving on {host}: put it behind a TLS proxy (https). Sessions and tokens travel "
            f"in every request, and the session cookie is sent over https only."
        )
    render.err_console.print(
        f"Serving the directory at http://{where}:{port}/ (the REST API at /api/v1, OneRoster "
        f"at /ims/oneroster/rostering/v1p2)"
    )
    # The OneRoster service's records are built once per directory state: when there are
    # clients, ahead of the first one's request, in a thread of their own.
    from schoolsync.store.clients import list_clients

    if any(c["disabled_at"] is None for c in list_clients(store)):
        threading.Thread(target=app.state.roster.warm, name="oneroster-warm", daemon=True).start()
    scheduler = None
    if settings.jobs:
        from schoolsync.schedule import Scheduler

        scheduler = Scheduler(store, settings)
        scheduler.start()
        names = ", ".join(f"{j.name} ({j.cron})" for j in settings.jobs)
        render.err_console.print(f"Running the jobs {names}, {settings.schedule.timezone} time.")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        if scheduler is not None:
            scheduler.stop()


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.group("admin")
def admin_group() -> None:
    """Who may use `schoolsync serve`: users of the web interface, tokens of the REST API."""


@admin_group.group("user")
def user_group() -> None:
    """Users of the web interface (passwords kept as argon2 hashes)."""


def _role(what: str) -> Callable[[Any], Any]:
    return click.option(
        "--role", required=True, type=click.Choice(access.ROLES), help=f"What the {what} may do."
    )


_schools = click.option(
    "--school", "schools", multiple=True, help="A school-admin's school (repeat)."
)
_password = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {access.MIN_PASSWORD} characters (asked for when not given).",
)


@user_group.command("add")
@click.argument("username")
@_role("user")
@_schools
@_password
@pass_env
def user_add(env: Env, username: str, role: str, schools: tuple[str, ...], password: str) -> None:
    """Add a user who signs in to the web interface."""
    access.add_user(env.store(), username, password, role, list(schools))
    render.console.print(f"User {username!r} ({role}) added. They sign in at the service's /login.")


@user_group.command("password")
@click.argument("username")
@_password
@pass_env
def user_password(env: Env, username: str, password: str) -> None:
    """Set a user's password (and enable them again); their sessions end."""
    access.set_password(env.store(), username, password)
    render.console.print(f"The password of {username!r} is set; their sessions have ended.")


@user_group.command("disable")
@click.argument("username")
@pass_env
def user_disable(env: Env, username: str) -> None:
    """Disable a user: they cannot sign in, and their sessions end."""
    access.disable_user(env.store(), username)
    render.console.print(f"User {username!r} disabled.")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@pass_env
def user_list(env: Env, as_json: bool) -> None:
    """The users: name, role, schools, when added, whether disabled."""
    _print_list(access.list_users(env.store()), as_json, "user add", "username", _user_state)


def _user_state(x: dict[str, Any]) -> str:
    return f"disabled {x['disabled_at']:%Y-%m-%d}" if x["disabled_at"] else "enabled"


def _print_list(
    items: list[dict[str, Any]], as_json: bool, add: str, key: str, state: Callable[[Any], str]
) -> None:
    """A list of users or tokens: JSON, or a line each (``NAME: role (schools), state``)."""
    if as_json:
        render.print_json(items)
        return
    if not items:
        what = add.split()[0]
        render.console.print(f"No {what}s. Add one with: schoolsync admin {add} NAME --role R")
    for x in items:
        schools = f" ({', '.join(x['schools'])})" if x["schools"] else ""
        render.console.print(f"{x[key]}: {x['role']}{schools}, {state(x)}")


@admin_group.group("token")
def token_group() -> None:
    """Bearer tokens of the REST API."""


@token_group.command("add")
@click.argument("name")
@_role("token")
@_schools
@pass_env
def token_add(env: Env, name: str, role: str, schools: tuple[str, ...]) -> None:
    """Make a token and print it, once: only a hash of it is kept."""
    token = access.add_token(env.store(), name, role, list(schools))
    render.err_console.print(f"Token {name!r} ({role}) made. It is shown this once; keep it safe:")
    click.echo(token)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@pass_env
def token_list(env: Env, as_json: bool) -> None:
    """The tokens: name, role, schools, when made, last used and revoked."""
    _print_list(access.list_tokens(env.store()), as_json, "token add", "name", _token_state)


def _token_state(x: dict[str, Any]) -> str:
    used = f"last used {x['last_used_at']:%Y-%m-%d %H:%M}" if x["last_used_at"] else "unused"
    return used + (f", revoked {x['revoked_at']:%Y-%m-%d}" if x["revoked_at"] else ", in use")


@token_group.command("revoke")
@click.argument("name")
@pass_env
def token_revoke(env: Env, name: str) -> None:
    """Revoke a token: it is refused from now on."""
    access.revoke_token(env.store(), name)
    render.console.print(f"Token {name!r} revoked.")


@admin_group.group("client")
def client_group() -> None:
    """OAuth2 clients of the OneRoster service (Google Classroom, Microsoft SDS, …)."""


@client_group.command("add")
@click.argument("name")
@click.option(
    "--core-only",
    is_flag=True,
    help="Only the roster-core scope: never the demographics (which are served only when the "
    "settings' [rostering] demographics is on).",
)
@pass_env
def client_add(env: Env, name: str, core_only: bool) -> None:
    """Make a client and print its id and secret, once: only a hash of the secret is kept."""
    from schoolsync.store import clients

    scopes = [clients.CORE] if core_only else list(clients.SCOPES)
    client_id, secret = clients.add_client(env.store(), name, scopes)
    render.err_console.print(
        f"OneRoster client {name!r} made. The secret is shown this once; keep it safe. Token "
        f"endpoint: POST /oauth/token (client credentials); service: "
        f"/ims/oneroster/rostering/v1p2/"
    )
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")


@client_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@pass_env
def client_list(env: Env, as_json: bool) -> None:
    """The clients: name, id, scopes, when made, last used and disabled."""
    from schoolsync.store import clients

    items = clients.list_clients(env.store())
    if as_json:
        render.print_json(items)
        return
    if not items:
        render.console.print("No clients. Add one with: schoolsync admin client add NAME")
    for x in items:
        scopes = ", ".join(s.rsplit("/", 1)[-1] for s in x["scopes"])
        used = f"last used {x['last_used_at']:%Y-%m-%d %H:%M}" if x["last_used_at"] else "unused"
        state = f", disabled {x['disabled_at']:%Y-%m-%d}" if x["disabled_at"] else ", enabled"
        render.console.print(f"{x['name']}: {x['client_id']} ({scopes}), {used}{state}")


@client_group.command("disable")
@click.argument("name")
@pass_env
def client_disable(env: Env, name: str) -> None:
    """Disable a client: its secret and every token it was given are refused from now on."""
    from schoolsync.store import clients

    clients.disable_client(env.store(), name)
    render.console.print(f"OneRoster client {name!r} disabled.")
