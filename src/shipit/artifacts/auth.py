"""Registry credentials: where they come from, the ``/v2/`` challenge, and the builder's auth file.

Credentials for a registry host are looked up in this order (the first found wins):

1. ``SHIPIT_REGISTRY_<HOST>_USERNAME`` / ``..._PASSWORD``, HOST upper-cased with every character
   other than a letter or digit turned into ``_`` (``ghcr.io`` -> ``SHIPIT_REGISTRY_GHCR_IO_...``);
2. ``SHIPIT_REGISTRY_USERNAME`` / ``SHIPIT_REGISTRY_PASSWORD``, for every host, or only for
   ``SHIPIT_REGISTRY_HOST`` when that is set;
3. ``registry.fly.io``: user ``x`` and the Fly token (``FLY_API_TOKEN``) as password;
4. the keyring entry ``shipit:registry:<host>`` (its user name and password);
5. the ``auths`` entry for the host in Docker's ``config.json`` or containers' ``auth.json``
   (what ``docker login`` / ``buildah login`` wrote; credential helpers are not run).

No credentials is not an error by itself: public images need none. A registry that answers
``401`` gets them per its ``WWW-Authenticate`` challenge: ``Basic``, or ``Bearer`` (a token from
the realm for ``repository:<name>:pull[,push]``). Values are wrapped in :class:`Secret` when read;
to a builder they are handed in a temporary auth file (mode 0600, deleted afterwards), never in
its arguments.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shipit.artifacts.reference import DOCKER_HUB, is_loopback_host
from shipit.errors import AuthError, UsageError
from shipit.sensitive import Secret

if TYPE_CHECKING:
    import httpx

FLY_REGISTRY = "registry.fly.io"
KEYRING_PREFIX = "shipit:registry:"
USERNAME_VARIABLE = "SHIPIT_REGISTRY_USERNAME"
PASSWORD_VARIABLE = "SHIPIT_REGISTRY_PASSWORD"
HOST_VARIABLE = "SHIPIT_REGISTRY_HOST"
_DOCKER_HUB_KEYS = ("docker.io", "index.docker.io", "https://index.docker.io/v1/")


@dataclass(frozen=True)
class RegistryCredentials:
    """A user name and password for one registry host; ``source`` says where they came from."""

    username: str
    password: Secret
    source: str

    def basic(self) -> str:
        """The ``Authorization`` value for HTTP Basic."""
        pair = f"{self.username}:{self.password.reveal()}".encode()
        return "Basic " + base64.b64encode(pair).decode()


def host_variables(host: str) -> tuple[str, str]:
    """The per-host variable names: ``SHIPIT_REGISTRY_<HOST>_USERNAME`` and ``..._PASSWORD``."""
    key = re.sub(r"[^A-Za-z0-9]", "_", host).upper()
    return f"SHIPIT_REGISTRY_{key}_USERNAME", f"SHIPIT_REGISTRY_{key}_PASSWORD"


def keyring_service(host: str) -> str:
    """The keyring service name that holds the credentials for ``host``."""
    return KEYRING_PREFIX + host


def _from_variables(user_var: str, password_var: str) -> RegistryCredentials | None:
    username = os.environ.get(user_var)
    password = os.environ.get(password_var)
    if not username and not password:
        return None
    if not username or not password:
        missing = user_var if not username else password_var
        raise UsageError(
            f"{missing} is not set but {user_var if username else password_var} is",
            hint=f"set both {user_var} and {password_var}, or neither",
        )
    return RegistryCredentials(username, Secret(password), password_var)


def _from_fly(host: str) -> RegistryCredentials | None:
    if host != FLY_REGISTRY:
        return None
    from shipit.credentials import lookup_token

    token = lookup_token("fly", required=False)
    if token is None:
        return None
    return RegistryCredentials("x", token.value, token.source)


def _from_keyring(host: str) -> RegistryCredentials | None:
    """The keyring entry for ``host``; any keyring failure counts as "not found"."""
    try:
        import keyring

        credential = keyring.get_credential(keyring_service(host), None)
    except Exception:  # no backend, locked, D-Bus down: lookup goes on without it
        return None
    if credential is None or not credential.username or not credential.password:
        return None
    return RegistryCredentials(credential.username, Secret(credential.password), "keyring")


def _auth_files() -> list[Path]:
    files: list[Path] = []
    docker_config = os.environ.get("DOCKER_CONFIG")
    files.append(
        Path(docker_config) / "config.json"
        if docker_config
        else Path.home() / ".docker" / "config.json"
    )
    registry_auth = os.environ.get("REGISTRY_AUTH_FILE")
    if registry_auth:
        files.append(Path(registry_auth))
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        files.append(Path(runtime) / "containers" / "auth.json")
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    files.append(Path(config_home) / "containers" / "auth.json")
    return files


def _from_auth_files(host: str) -> RegistryCredentials | None:
    keys = _DOCKER_HUB_KEYS if host == DOCKER_HUB else (host, f"https://{host}", f"http://{host}")
    for path in _auth_files():
        try:
            auths = json.loads(path.read_text(encoding="utf-8")).get("auths", {})
        except (OSError, ValueError, AttributeError):
            continue
        for key in keys:
            encoded = auths.get(key, {}).get("auth") if isinstance(auths, dict) else None
            if not encoded:
                continue
            try:
                username, _, password = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            if username and password:
                return RegistryCredentials(username, Secret(password), str(path))
    return None


def lookup_credentials(host: str) -> RegistryCredentials | None:
    """The credentials for registry ``host`` (``docker.io`` for Docker Hub), or None."""
    found = _from_variables(*host_variables(host))
    if found:
        return found
    scoped = os.environ.get(HOST_VARIABLE)
    if not scoped or scoped == host:
        found = _from_variables(USERNAME_VARIABLE, PASSWORD_VARIABLE)
        if found:
            return found
    return _from_fly(host) or _from_keyring(host) or _from_auth_files(host)


def save_credentials(host: str, username: str, password: Secret) -> None:
    """Store credentials for ``host`` in the keyring (after they worked)."""
    import keyring

    keyring.set_password(keyring_service(host), username, password.reveal())


def credentials_hint(host: str) -> str:
    """How to give shipit credentials for ``host``."""
    if host == FLY_REGISTRY:
        return "set FLY_API_TOKEN (a deploy or org token); the registry user is `x`"
    user_var, password_var = host_variables(host)
    return (
        f"set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE} (or {user_var} and {password_var}), "
        f"or store them in the keyring as service {keyring_service(host)!r}"
    )


# --- the 401 challenge ---------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: its scheme (lower case) and parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` values, e.g. ``Bearer realm="...",service="...",scope="..."``."""
    challenges: list[Challenge] = []
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        if not scheme:
            continue
        params: dict[str, str] = {}
        for key, raw in _PARAM.findall(rest):
            if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            params[key.lower()] = raw
        challenges.append(Challenge(scheme.lower(), params))
    return challenges


def pick_challenge(challenges: list[Challenge]) -> Challenge | None:
    """The challenge shipit answers: Bearer first, else Basic."""
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None


def scope_for(repository: str, *, push: bool = False) -> str:
    """The token scope for a repository: ``repository:<name>:pull`` or ``...:pull,push``."""
    return f"repository:{repository}:{'pull,push' if push else 'pull'}"


def fetch_token(
    client: httpx.Client,
    challenge: Challenge,
    *,
    host: str,
    scope: str,
    credentials: RegistryCredentials | None,
) -> Secret:
    """Exchange credentials (or nothing, for public images) for a Bearer token at the realm."""
    import httpx

    from shipit.errors import ProviderAPIError

    realm = challenge.params.get("realm", "")
    parts = urlsplit(realm)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ProviderAPIError(
            "registry", f"{host} sent a token realm that is not a URL: {realm!r}"
        )
    if credentials is not None and parts.scheme == "http" and not is_loopback_host(parts.netloc):
        raise AuthError(
            f"registry {host} asks for credentials over plain HTTP ({parts.netloc})",
            hint="shipit sends registry credentials over HTTPS only (or to loopback addresses)",
        )
    params: dict[str, str] = {"scope": scope}
    if challenge.params.get("service"):
        params["service"] = challenge.params["service"]
    headers = {"Authorization": credentials.basic()} if credentials else {}
    try:
        response = client.get(realm, params=params, headers=headers)
    except httpx.HTTPError as error:
        raise ProviderAPIError(
            "registry",
            f"cannot reach the token service of {host} at {parts.netloc} ({type(error).__name__})",
            hint="check your network connection and the registry address",
        ) from None
    if response.status_code in {401, 403}:
        raise rejected(host, credentials)
    if response.status_code != 200:
        raise ProviderAPIError(
            "registry",
            f"the token service of {host} failed",
            status=response.status_code,
        )
    try:
        body: Any = response.json()
        token = body.get("token") or body.get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise ProviderAPIError("registry", f"the token service of {host} returned no token")
    return Secret(token)


def rejected(host: str, credentials: RegistryCredentials | None) -> AuthError:
    """The error for a registry that refused: names the user and where it came from."""
    if credentials is None:
        return AuthError(f"registry {host} needs credentials", hint=credentials_hint(host))
    return AuthError(
        f"registry {host} rejected the credentials of user {credentials.username!r} "
        f"(from {credentials.source})",
        hint="check the user name and password; " + credentials_hint(host),
    )


# --- the builder's auth file ---------------------------------------------------------------


@contextmanager
def auth_config(host: str, credentials: RegistryCredentials | None) -> Iterator[Path | None]:
    """A private folder holding ``config.json`` with the credentials; deleted on exit.

    Docker reads it through ``DOCKER_CONFIG=<folder>``; buildah and podman through
    ``--authfile <folder>/config.json`` (the same ``{"auths": ...}`` format). Yields None when
    there are no credentials, so the builder uses its own login.
    """
    if credentials is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="shipit-auth-"))
    try:
        folder.chmod(0o700)
        encoded = base64.b64encode(
            f"{credentials.username}:{credentials.password.reveal()}".encode()
        ).decode()
        keys = _DOCKER_HUB_KEYS if host == DOCKER_HUB else (host,)
        document = {"auths": {key: {"auth": encoded} for key in keys}}
        path = folder / "config.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
