"""Provider tokens: looked up flag -> provider env var -> keyring -> prompt.

- flag: a ``--token`` option of a command, where one exists;
- env var: ``RAILWAY_API_TOKEN`` (Bearer) or ``RAILWAY_TOKEN`` (project token; both set is an
  error), ``RENDER_API_KEY``, ``FLY_API_TOKEN``;
- keyring: ``shipit:token:<provider>`` / ``token``, written by ``shipit login`` only after the
  provider accepted the token (a Bearer token for Railway);
- prompt: hidden input, only when stdin and stderr are terminals and ``CI`` is not true. A
  prompted token is used for this run and not stored (``shipit login`` stores one).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from shipit.errors import AuthError, UsageError
from shipit.secretstore import (
    TOKEN_USER,
    KeyringUnavailableError,
    delete_entry,
    read_entry,
    token_service,
    write_entry,
)
from shipit.sensitive import Secret

TOKEN_VARIABLES: dict[str, tuple[str, ...]] = {
    "railway": ("RAILWAY_API_TOKEN", "RAILWAY_TOKEN"),
    "render": ("RENDER_API_KEY",),
    "fly": ("FLY_API_TOKEN",),
}


@dataclass(frozen=True)
class Token:
    """A provider token and where it came from.

    ``source`` is the variable name, ``"flag"``, ``"keyring"`` or ``"prompt"``; ``kind`` tells
    adapters how to send it (Railway: ``"project"`` for RAILWAY_TOKEN, else ``"bearer"``).
    """

    value: Secret
    source: str
    kind: str = "bearer"


def interactive() -> bool:
    """True when a prompt may be shown: terminals on stdin and stderr, and not in CI."""
    from shipit.ci import in_ci

    return not in_ci() and sys.stdin.isatty() and sys.stderr.isatty()


def lookup_token(
    provider: str,
    *,
    flag: str | None = None,
    required: bool = True,
    prompt: bool | None = None,
) -> Token | None:
    """The token for ``provider``; an AuthError with the fix when required and none is found.

    ``prompt`` defaults to :func:`interactive`; pass False to never prompt.
    """
    if provider not in TOKEN_VARIABLES:
        return None
    if flag:
        return Token(Secret(flag), "flag")
    variables = TOKEN_VARIABLES[provider]
    present = [name for name in variables if os.environ.get(name)]
    if provider == "railway" and len(present) > 1:
        raise UsageError(
            "both RAILWAY_API_TOKEN and RAILWAY_TOKEN are set",
            hint="unset one: RAILWAY_API_TOKEN is an account/workspace token, "
            "RAILWAY_TOKEN a project token",
        )
    if present:
        name = present[0]
        kind = "project" if name == "RAILWAY_TOKEN" else "bearer"
        return Token(Secret(os.environ[name]), name, kind)
    keyring_problem = ""
    try:
        stored = stored_token(provider)
    except KeyringUnavailableError as error:
        stored = None
        if error.reason != "none":
            keyring_problem = f" ({error.message}, so no stored token could be read)"
    if stored is not None:
        return Token(stored, "keyring")
    if prompt if prompt is not None else interactive():
        typed = _prompt(f"{provider} API token (input hidden): ")
        if typed:
            return Token(typed, "prompt")
    if required:
        raise AuthError(
            f"no {provider} token{keyring_problem}",
            hint=f"set {' or '.join(variables)}, or run `shipit login {provider}`",
        )
    return None


def _prompt(text: str) -> Secret:
    import getpass

    return Secret(getpass.getpass(text, stream=sys.stderr).strip())


def stored_token(provider: str) -> Secret | None:
    """The token ``shipit login`` stored for ``provider``, if any."""
    return read_entry(token_service(provider), TOKEN_USER)


def store_token(provider: str, token: Secret) -> None:
    """Keep ``token`` in the keyring for later runs (call only after it worked)."""
    write_entry(token_service(provider), TOKEN_USER, token)


def forget_token(provider: str) -> bool:
    """Remove the stored token of ``provider``; False when there was none."""
    return delete_entry(token_service(provider), TOKEN_USER)
