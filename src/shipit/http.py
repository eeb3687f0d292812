"""The one place that builds httpx clients: timeouts, User-Agent, retries, response checks, trace.

Every adapter talks to its provider through a :class:`ProviderClient` made by :func:`make_client`
and sends requests with :func:`request` or :func:`graphql`:

- timeouts: 5 s to connect, 30 s to read; :data:`STREAM_TIMEOUT` has no read limit (log streams);
- connect failures are retried by the transport for every call (nothing reached the server);
- with ``retry=True`` (reads, idempotent writes) connection failures, 429 (honouring
  ``Retry-After``) and 502-504 are retried with exponential backoff, all within the policy's
  deadline. A deploy is sent with ``retry=False``: it is never repeated after a response;
- one check turns HTTP errors, GraphQL ``errors`` delivered with HTTP 200 and transport failures
  into :class:`~shipit.errors.ProviderAPIError` (exit 4); 401/403 become
  :class:`~shipit.errors.AuthError` (exit 3) whose hint names the token variable;
- a DEBUG trace on the ``shipit.http`` logger with credentials and known secrets masked.

Base URLs can be overridden for tests and proxies with :func:`base_url`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TextIO
from urllib.parse import urlsplit

import httpx

from shipit import __version__
from shipit.errors import AuthError, ProviderAPIError, UsageError
from shipit.sensitive import REDACTED, redact

logger = logging.getLogger("shipit.http")

USER_AGENT: Final = f"shipit/{__version__}"
CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 30.0
DEFAULT_TIMEOUT: Final = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
STREAM_TIMEOUT: Final = httpx.Timeout(None, connect=CONNECT_TIMEOUT)
CONNECT_RETRIES: Final = 2
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
RETRY_ERRORS: Final = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
)
BASE_URL_VARIABLES: Final[Mapping[str, str]] = {
    "railway": "SHIPIT_RAILWAY_API_URL",
    "render": "SHIPIT_RENDER_API_URL",
    "fly_machines": "SHIPIT_FLY_MACHINES_URL",
    "fly_graphql": "SHIPIT_FLY_GRAPHQL_URL",
}
REQUEST_ID_HEADERS: Final = (
    "x-request-id",
    "x-railway-request-id",
    "fly-request-id",
    "rndr-id",
    "x-amzn-requestid",
    "cf-ray",
)
SENSITIVE_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "project-access-token",
        "cookie",
        "set-cookie",
        "x-api-key",
    }
)
TRACE_BODY_LIMIT: Final = 4000


def base_url(provider_key: str, default: str) -> str:
    """The provider's base URL: its ``SHIPIT_*_URL`` override when set, else ``default``.

    Keys: ``railway``, ``render``, ``fly_machines``, ``fly_graphql`` (see BASE_URL_VARIABLES).
    """
    variable = BASE_URL_VARIABLES[provider_key]
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(
            f"{variable} is not an http(s) URL: {value!r}",
            hint=f"set {variable} to a URL such as {default}, or unset it",
        )
    return value.rstrip("/")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a call that is safe to repeat.

    ``attempts`` counts every try; pauses double from ``backoff`` up to ``max_backoff`` (or are as
    long as ``Retry-After`` asks); no pause may end later than ``deadline`` seconds after the
    first try. ``sleep`` and ``clock`` are injectable so tests do not wait.
    """

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 8.0
    deadline: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def pause(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        delay = min(self.backoff * 2.0**retry_number, self.max_backoff)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def next_pause(
        self, retry_number: int, started: float, retry_after: float | None = None
    ) -> float | None:
        """The pause before retry ``retry_number``, or None when no retry fits in the deadline."""
        if retry_number + 1 >= self.attempts:
            return None
        delay = self.pause(retry_number, retry_after)
        if self.clock() + delay - started > self.deadline:
            return None
        return delay


class ProviderClient(httpx.Client):
    """An httpx client that knows its provider, how to name a bad token, and its retry policy."""

    def __init__(
        self,
        provider: str,
        *,
        auth_hint: str | None = None,
        auth_messages: Sequence[str] = (),
        policy: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.provider = provider
        self.auth_hint = auth_hint or f"check the {provider} token"
        self.auth_messages = tuple(message.casefold() for message in auth_messages)
        self.policy = policy or RetryPolicy()


def make_client(
    provider: str,
    *,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    auth_hint: str | None = None,
    auth_messages: Sequence[str] = (),
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    policy: RetryPolicy | None = None,
    verbose: bool = False,
    transport: httpx.BaseTransport | None = None,
) -> ProviderClient:
    """A client for ``provider`` with shipit's timeouts, User-Agent, connect retries and trace.

    ``auth_hint`` is the fix shown with a 401/403 (name the token variable); ``auth_messages``
    are lower-case fragments of GraphQL error messages that mean the token was refused.
    ``verbose`` turns the ``shipit.http`` trace on (stderr).
    """
    if verbose:
        enable_trace()
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    return ProviderClient(
        provider,
        auth_hint=auth_hint,
        auth_messages=auth_messages,
        policy=policy,
        base_url=base_url,
        headers=all_headers,
        timeout=timeout,
        transport=transport or httpx.HTTPTransport(retries=CONNECT_RETRIES),
        event_hooks={"request": [_trace_request], "response": [_trace_response]},
    )


def request(
    client: ProviderClient,
    method: str,
    url: str,
    *,
    retry: bool,
    hide_body: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request, retrying per the client's policy when ``retry``; errors are raised.

    Returns a read, successful (2xx/3xx) response. ``hide_body`` keeps the response body out of
    the trace (answers that hold secret values shipit does not know, such as variable lists).
    ``kwargs`` go to ``httpx.Client.request``.
    """
    policy = client.policy
    started = policy.clock()
    retry_number = 0
    while True:
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as error:
            pause = policy.next_pause(retry_number, started) if retry else None
            if pause is None or not isinstance(error, RETRY_ERRORS):
                raise transport_error(client.provider, error) from error
            reason = type(error).__name__
        else:
            _trace_body(response, hidden=hide_body)
            pause = None
            if retry and response.status_code in RETRY_STATUSES:
                wait = retry_after(response.headers.get("Retry-After"), now=_utcnow())
                pause = policy.next_pause(retry_number, started, wait)
            if pause is None:
                check_response(response, provider=client.provider, auth_hint=client.auth_hint)
                return response
            reason = f"HTTP {response.status_code}"
        logger.debug("retrying %s %s in %.1fs after %s", method, url, pause, reason)
        policy.sleep(pause)
        retry_number += 1


class GraphQLResponseError(ProviderAPIError):
    """GraphQL ``errors`` in a response; ``errors`` holds them for callers that branch on them."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]],
        status: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(provider, message, status=status, request_id=request_id, hint=hint)
        self.errors = list(errors)

    @property
    def messages(self) -> list[str]:
        """Every error message, as sent."""
        return [str(error.get("message", "")) for error in self.errors]

    def mentions(self, fragment: str) -> bool:
        """True when any message contains ``fragment`` (case-insensitive)."""
        wanted = fragment.casefold()
        return any(wanted in message.casefold() for message in self.messages)


def graphql(
    client: ProviderClient,
    url: str,
    document: str,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    retry: bool,
    hide_body: bool = False,
) -> dict[str, Any]:
    """POST a GraphQL operation and return its ``data``; ``errors`` raise even with HTTP 200.

    Root variables that are None are left out (an explicit null can mean "clear this field").
    Errors whose message contains one of the client's ``auth_messages`` raise AuthError.
    """
    payload: dict[str, Any] = {"query": document}
    if variables:
        payload["variables"] = {k: v for k, v in variables.items() if v is not None}
    if operation_name:
        payload["operationName"] = operation_name
    response = request(client, "POST", url, json=payload, retry=retry, hide_body=hide_body)
    try:
        body = response.json()
    except ValueError:
        raise ProviderAPIError(
            client.provider,
            f"the response to {operation_name or 'a GraphQL request'} is not JSON",
            status=response.status_code,
            request_id=request_id(response),
        ) from None
    if not isinstance(body, dict):
        raise ProviderAPIError(client.provider, "the GraphQL response is not an object")
    errors = body.get("errors")
    if errors:
        raise graphql_error(client, errors, response)
    data = body.get("data")
    if not isinstance(data, dict):
        raise ProviderAPIError(
            client.provider,
            f"no data in the response to {operation_name or 'a GraphQL request'}",
            request_id=request_id(response),
        )
    return data


def graphql_error(
    client: ProviderClient, errors: Any, response: httpx.Response | None = None
) -> AuthError | ProviderAPIError:
    """The error to raise for a GraphQL ``errors`` list (AuthError when the token was refused)."""
    items = [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
    if not items:
        items = [{"message": str(errors)}]
    message = redact(str(items[0].get("message") or "unknown GraphQL error"))
    if len(items) > 1:
        message += f" (and {len(items) - 1} more)"
    trace = None
    extensions = items[0].get("extensions")
    if isinstance(extensions, Mapping):
        trace = extensions.get("traceId") or extensions.get("requestId")
    identifier = str(trace) if trace else (request_id(response) if response else None)
    folded = message.casefold()
    if any(fragment in folded for fragment in client.auth_messages):
        return AuthError(f"{client.provider} refused the token: {message}", hint=client.auth_hint)
    return GraphQLResponseError(client.provider, message, errors=items, request_id=identifier)


def check_response(
    response: httpx.Response, *, provider: str, auth_hint: str | None = None
) -> None:
    """Raise the right error for a failed HTTP response; return for 1xx-3xx."""
    status = response.status_code
    if status < 400:
        return
    message = error_message(response)
    identifier = request_id(response)
    if status in {401, 403}:
        text = f"{provider} refused the token (HTTP {status}): {message}"
        if identifier:
            text += f" (request id {identifier})"
        raise AuthError(text, hint=auth_hint or f"check the {provider} token")
    hint = None
    if status == 429:
        wait = retry_after(response.headers.get("Retry-After"), now=_utcnow())
        hint = "rate limited: " + (f"retry in {wait:.0f} s" if wait is not None else "retry later")
    elif status >= 500:
        hint = f"{provider} had a server error; retry in a moment"
    errors = _json_errors(response)
    if errors:
        raise GraphQLResponseError(
            provider, message, errors=errors, status=status, request_id=identifier, hint=hint
        )
    raise ProviderAPIError(provider, message, status=status, request_id=identifier, hint=hint)


def transport_error(provider: str, error: httpx.TransportError) -> ProviderAPIError:
    """A ProviderAPIError for a request that got no response."""
    try:
        target = error.request.url
        where = f"{target.scheme}://{target.netloc.decode()}"
    except RuntimeError:
        where = f"the {provider} API"
    if isinstance(error, httpx.TimeoutException):
        message = f"no answer from {where} in time ({type(error).__name__})"
    elif isinstance(error, httpx.ConnectError):
        message = f"cannot connect to {where}: {error}"
    else:
        message = f"{type(error).__name__} talking to {where}: {error}"
    return ProviderAPIError(
        provider,
        redact(message),
        hint=f"check the network and that {where} is reachable, then run the command again",
    )


def error_message(response: httpx.Response) -> str:
    """The most useful one-line message in an error response, secrets masked."""
    errors = _json_errors(response)
    if errors:
        return redact(str(errors[0].get("message") or response.reason_phrase))
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        for key in ("message", "error_description", "error", "detail"):
            value = body.get(key)
            if isinstance(value, Mapping):
                value = value.get("message")
            if isinstance(value, str) and value:
                return redact(value)
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    return redact(text or response.reason_phrase or f"HTTP {response.status_code}")


def request_id(response: httpx.Response) -> str | None:
    """The provider's id of this request, from the first header that carries one."""
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _json_errors(response: httpx.Response) -> list[Mapping[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, Mapping)]
    return []


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------- trace


@dataclass
class _TraceState:
    handler: logging.Handler | None = None


_trace = _TraceState()


class _RedactingFormatter(logging.Formatter):
    """Masks every registered secret in the final text of a trace record."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def enable_trace(stream: TextIO | None = None) -> None:
    """Print the ``shipit.http`` trace (what ``--verbose`` shows) on ``stream`` (stderr)."""
    if _trace.handler is not None:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_RedactingFormatter("http: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    _trace.handler = handler


def disable_trace() -> None:
    """Stop printing the trace (tests)."""
    if _trace.handler is not None:
        logger.removeHandler(_trace.handler)
        _trace.handler = None


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with credentials masked (``Authorization: Bearer [REDACTED]``)."""
    masked: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in SENSITIVE_HEADERS:
            scheme, _, rest = value.partition(" ")
            value = (
                f"{scheme} {REDACTED}"
                if rest and name.lower().endswith("authorization")
                else REDACTED
            )
        masked[name] = redact(value)
    return masked


def _body_text(content: bytes, content_type: str) -> str:
    if not content:
        return ""
    if "json" not in content_type and not content_type.startswith("text/"):
        return f"<{len(content)} bytes {content_type or 'binary'}>"
    text = content.decode("utf-8", errors="replace")
    if len(text) > TRACE_BODY_LIMIT:
        text = text[:TRACE_BODY_LIMIT] + f"... ({len(text)} characters)"
    return redact(text)


def _trace_request(request: httpx.Request) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    headers = json.dumps(mask_headers(dict(request.headers)))
    try:
        body = _body_text(request.content, request.headers.get("content-type", ""))
    except httpx.RequestNotRead:
        body = "<streamed body>"
    logger.debug("> %s %s %s %s", request.method, request.url, headers, body)


def _trace_response(response: httpx.Response) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    identifier = request_id(response)
    suffix = f" (request id {identifier})" if identifier else ""
    logger.debug(
        "< %d %s %s%s", response.status_code, response.request.method, response.request.url, suffix
    )


def _trace_body(response: httpx.Response, *, hidden: bool = False) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        if hidden:
            logger.debug(
                "< <body of %d bytes not shown: it may hold secrets>", len(response.content)
            )
            return
        body = _body_text(response.content, response.headers.get("content-type", ""))
        if body:
            logger.debug("< %s", body)
