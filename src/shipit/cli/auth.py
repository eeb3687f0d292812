"""``shipit login`` and ``shipit logout``: provider tokens in the OS keyring.

``login PROVIDER`` reads a token (hidden prompt on a terminal, or stdin with ``--token-stdin``),
checks it with one cheap read-only call (:mod:`shipit.tokencheck`) and stores it in the keyring
(``shipit:token:<provider>``) only once the provider accepted it. Environment variables
(``RAILWAY_API_TOKEN``, ``RAILWAY_TOKEN``, ``RENDER_API_KEY``, ``FLY_API_TOKEN``) still win over a
stored token. ``logout`` removes stored tokens.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shipit.cli import context, options
from shipit.errors import UsageError


def register(app: typer.Typer) -> None:
    """Add ``shipit login`` and ``shipit logout``."""
    app.command("login")(login)
    app.command("logout")(logout)


def _check_provider(provider: str) -> None:
    from shipit.credentials import TOKEN_VARIABLES

    if provider in TOKEN_VARIABLES:
        return
    if provider == "local":
        raise UsageError("the local provider needs no login")
    raise UsageError(
        f"unknown provider {provider!r}",
        hint=f"log in to one of: {', '.join(TOKEN_VARIABLES)}",
    )


def login(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", help="railway, render or fly.")],
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token from stdin.")
    ] = False,
) -> None:
    """Check a provider token and store it in the keyring for later runs."""
    from shipit.credentials import TOKEN_VARIABLES, Token, store_token
    from shipit.secretstore import token_service, usable_backend
    from shipit.sensitive import Secret
    from shipit.tokencheck import check_token

    _check_provider(provider)
    variables = " or ".join(TOKEN_VARIABLES[provider])
    if token_stdin:
        import sys

        value = Secret(sys.stdin.read().strip())
    elif options.current.interactive:
        typed: str = typer.prompt(f"{provider} API token", hide_input=True, err=True)
        value = Secret(typed.strip())
    else:
        raise UsageError(
            f"no {provider} token given and no terminal to prompt on",
            hint=f'pipe it: printf %s "$TOKEN" | shipit login {provider} --token-stdin '
            f"(or set {variables} for this process only)",
        )
    if not value:
        raise UsageError("the token is empty", hint="pass the token on stdin")
    usable_backend()  # no keyring to store it in: say so before calling the provider
    account = check_token(provider, Token(value, "login"))
    store_token(provider, value)
    where = token_service(provider)
    if options.current.json:
        context.output.emit_json(
            {"ok": True, "provider": provider, "account": account, "stored": where}
        )
        return
    context.output.echo(f"logged in to {provider} as {account}; token stored in the keyring")
    from shipit.credentials import lookup_token

    active = lookup_token(provider, required=False, prompt=False)
    if active is not None and active.source != "keyring":
        context.output.warn(f"{active.source} is set and is used instead of the stored token")


def logout(
    provider: Annotated[
        str | None,
        typer.Argument(metavar="[PROVIDER]", help="railway, render or fly (default: all)."),
    ] = None,
) -> None:
    """Remove stored provider tokens from the keyring."""
    from shipit.credentials import TOKEN_VARIABLES, forget_token

    if provider is not None:
        _check_provider(provider)
    providers = [provider] if provider else list(TOKEN_VARIABLES)
    removed = [name for name in providers if forget_token(name)]
    if options.current.json:
        context.output.emit_json({"ok": True, "removed": removed})
        return
    if removed:
        context.output.echo(f"removed the stored token of {', '.join(removed)}")
    else:
        context.output.info(f"no stored token for {provider or 'any provider'}")
