"""``schoolsync serve`` (the REST API) and ``schoolsync admin token …`` (who may use it)."""

from __future__ import annotations

import ipaddress

import click

from schoolsync.cli import render
from schoolsync.cli.context import Env, pass_env, today_option
from schoolsync.store import access


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@today_option
@pass_env
def serve_command(env: Env, host: str, port: int) -> None:
    """Serve the directory: the REST API at /api/v1 (bearer tokens from `admin token add`;
    OpenAPI at /api/v1/openapi.json). Reads never wait for a sync that is running."""
    import uvicorn

    from schoolsync.web.api import create_app

    store = env.store()
    store.migrate(create=False)
    app = create_app(store, env.settings(), lambda: env.today)  # --today, else each day's date
    where = f"[{host}]" if ":" in host else host
    if not _is_loopback(host):
        render.err_console.print(
            f"Serving on {host}: put it behind a TLS proxy, the tokens travel in every request."
        )
    render.err_console.print(f"Serving the directory at http://{where}:{port}/api/v1")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.group("admin")
def admin_group() -> None:
    """Who may use `schoolsync serve`."""


@admin_group.group("token")
def token_group() -> None:
    """Bearer tokens of the REST API."""


@token_group.command("add")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice(access.ROLES), help="What the token may do."
)
@click.option("--school", "schools", multiple=True, help="A school-admin's school (repeat).")
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
    tokens = access.list_tokens(env.store())
    if as_json:
        render.print_json(tokens)
        return
    if not tokens:
        render.console.print("No tokens. Make one with: schoolsync admin token add NAME --role R")
    for x in tokens:
        state = f"revoked {x['revoked_at']:%Y-%m-%d}" if x["revoked_at"] else "in use"
        used = f"last used {x['last_used_at']:%Y-%m-%d %H:%M}" if x["last_used_at"] else "unused"
        schools = f" ({', '.join(x['schools'])})" if x["schools"] else ""
        render.console.print(f"{x['name']}: {x['role']}{schools}, {used}, {state}")


@token_group.command("revoke")
@click.argument("name")
@pass_env
def token_revoke(env: Env, name: str) -> None:
    """Revoke a token: it is refused from now on."""
    access.revoke_token(env.store(), name)
    render.console.print(f"Token {name!r} revoked.")
