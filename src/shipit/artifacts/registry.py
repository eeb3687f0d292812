"""An OCI distribution (Docker Registry v2) client over httpx: access checks and manifest digests.

Only what shipit needs: ``GET /v2/`` (is the registry there, do the credentials work) and
``HEAD /v2/<name>/manifests/<reference>`` (the digest the registry reports for a tag). A ``401``
is answered once per its challenge (see :mod:`shipit.artifacts.auth`); a second ``401`` means the
credentials are wrong (AuthError, exit 3). Reads are retried on connect errors, 429 and 502-504;
the client comes from :func:`shipit.http.make_client` (timeouts, User-Agent, a trace that masks
``Authorization``).
Loopback registries are spoken to over plain HTTP, every other over HTTPS.
"""

from __future__ import annotations

import hashlib
import time
from types import TracebackType
from typing import TYPE_CHECKING

from shipit.artifacts.auth import (
    RegistryCredentials,
    fetch_token,
    parse_challenges,
    pick_challenge,
    rejected,
    scope_for,
)
from shipit.artifacts.reference import ImageReference, is_digest
from shipit.errors import AuthError, ProviderAPIError
from shipit.sensitive import Secret

if TYPE_CHECKING:
    import httpx

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_RETRY_STATUS = {429, 502, 503, 504}
_ATTEMPTS = 3
_MAX_RETRY_AFTER = 5.0


class RegistryClient:
    """Talks to the registry of one image reference; use it as a context manager."""

    def __init__(
        self,
        image: ImageReference,
        credentials: RegistryCredentials | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        import httpx

        from shipit.http import make_client

        self.image = image
        self.credentials = credentials
        self.host = image.registry
        self._authorization: dict[str, Secret] = {}
        self._client = make_client(
            "registry",
            base_url=image.base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            transport=transport,
        )
        self._client.follow_redirects = True

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    # ---------------------------------------------------------------------------------------
    def check_access(self, *, push: bool = False) -> None:
        """Fail early when the registry is unreachable or refuses the credentials."""
        response = self._request("GET", "/v2/", scope=scope_for(self.image.repository, push=push))
        if response.status_code != 200:
            raise self._failed(response, "the registry API check (/v2/) failed")

    def manifest_digest(self, reference: str | None = None) -> str:
        """The digest the registry reports for a tag (default: the image's tag or ``latest``)."""
        wanted = reference or self.image.reference
        path = f"/v2/{self.image.repository}/manifests/{wanted}"
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        scope = scope_for(self.image.repository)
        response = self._request("HEAD", path, scope=scope, headers=headers)
        if response.status_code == 404:
            raise ProviderAPIError(
                "registry",
                f"image {self.image.name}:{wanted} not found "
                f"(no tag {wanted!r} in repository {self.image.repository!r} on {self.host})",
                status=404,
                hint="check the tag in `image` (or push it first); "
                "pin an existing one by digest as REPOSITORY@sha256:...",
            )
        if response.status_code != 200:
            raise self._failed(response, f"reading the manifest of {self.image.name}:{wanted}")
        digest = str(response.headers.get("Docker-Content-Digest", ""))
        if not is_digest(digest):
            response = self._request("GET", path, scope=scope, headers=headers)
            if response.status_code != 200:
                raise self._failed(response, f"reading the manifest of {self.image.name}:{wanted}")
            digest = str(response.headers.get("Docker-Content-Digest", ""))
            if not is_digest(digest):
                digest = "sha256:" + hashlib.sha256(response.content).hexdigest()
        return digest

    # ---------------------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, *, scope: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Send with the cached authorization; answer one 401 challenge; refuse a second."""
        response = self._send(method, path, self._headers(scope, headers))
        if response.status_code != 401:
            return response
        challenge = pick_challenge(parse_challenges(response.headers.get_list("WWW-Authenticate")))
        if challenge is None:
            raise rejected(self.host, self.credentials)
        if challenge.scheme == "basic":
            if self.credentials is None:
                raise rejected(self.host, None)
            self._authorization["*"] = Secret(self.credentials.basic())
        else:
            token = fetch_token(
                self._client,
                challenge,
                host=self.host,
                scope=scope,
                credentials=self.credentials,
            )
            self._authorization[scope] = Secret(f"Bearer {token.reveal()}")
        response = self._send(method, path, self._headers(scope, headers))
        if response.status_code == 401:
            raise rejected(self.host, self.credentials)
        return response

    def _headers(self, scope: str, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        authorization = self._authorization.get(scope) or self._authorization.get("*")
        if authorization is not None:
            headers["Authorization"] = authorization.reveal()
        return headers

    def _send(self, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
        """One request, retried on 429 and 502-504 (reads only; connect errors: the transport)."""
        import httpx

        delay = 0.2
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                response = self._client.request(method, path, headers=headers)
            except httpx.HTTPError as error:
                raise self._unreachable(error) from None
            if response.status_code not in _RETRY_STATUS or attempt == _ATTEMPTS:
                return response
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                delay = min(float(retry_after), _MAX_RETRY_AFTER)
            time.sleep(delay)
            delay *= 3
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, error: Exception) -> ProviderAPIError:
        scheme = "http" if self.image.loopback else "https"
        reason = str(error) or type(error).__name__
        return ProviderAPIError(
            "registry",
            f"cannot reach registry {self.host} over {scheme} ({reason})",
            hint="check the registry host and port in `image` and that it is running; shipit "
            "uses HTTPS, and plain HTTP only for loopback addresses (localhost, 127.0.0.1, ::1)",
        )

    def _failed(self, response: httpx.Response, what: str) -> ProviderAPIError | AuthError:
        if response.status_code == 403:
            return AuthError(
                f"registry {self.host} denied access to {self.image.repository!r}",
                hint="the credentials work but lack permission for this repository; "
                "check the repository name in `image` and the account's access",
            )
        request_id = response.headers.get("X-Request-Id") or response.headers.get(
            "Docker-Distribution-Request-Id"
        )
        return ProviderAPIError(
            "registry",
            f"{what} on {self.host}",
            status=response.status_code,
            request_id=request_id,
            hint="try again later; if it persists, check the registry's status",
        )
