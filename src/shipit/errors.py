"""What can go wrong, as a tree of errors that each carry an exit code and a hint.

    ShipitError                 exit 1   unexpected; base of everything below
    +-- UsageError              exit 2   a bad flag or argument
    +-- ConfigError             exit 2   shipit.toml is wrong: FILE:LINE: key.path: message
    +-- SecretsMissingError     exit 2   secrets the deploy needs have no value
    +-- AuthError               exit 3   a token is missing, wrong or expired
    +-- ProviderAPIError        exit 4   the provider's API refused or failed
    +-- DeployFailedError       exit 5   a build, deploy or health gate failed
    +-- ChecksFailedError       exit 5   `shipit doctor` found failing checks

The CLI's one error boundary prints ``str(error)`` and the hint, and exits with ``exit_code``.
Messages never contain secret values: callers pass names, never values.
"""

from __future__ import annotations

from collections.abc import Sequence


class ExitCode:
    """The exit codes that CI scripts rely on (documented in the README)."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    AUTH = 3
    PROVIDER = 4
    DEPLOY = 5
    INTERRUPTED = 130


class ShipitError(Exception):
    """Base of every error shipit reports to a user."""

    exit_code: int = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(ShipitError):
    """A flag or argument is wrong or missing."""

    exit_code = ExitCode.USAGE


class ConfigError(ShipitError):
    """shipit.toml is invalid; the message reads ``FILE:LINE: key.path: message``."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.detail = message
        location = ""
        if file:
            location = file
            if line is not None:
                location += f":{line}"
                if column is not None:
                    location += f":{column}"
            location += ": "
        if key:
            location += f"{key}: "
        super().__init__(location + message, hint=hint)


class SecretsMissingError(ShipitError):
    """Secrets needed by an environment have no value; names every one of them at once."""

    exit_code = ExitCode.USAGE

    def __init__(self, names: Sequence[str], *, environment: str, hint: str | None = None) -> None:
        self.names = list(names)
        self.environment = environment
        listed = ", ".join(self.names)
        super().__init__(f"missing secrets for environment {environment!r}: {listed}", hint=hint)


class AuthError(ShipitError):
    """A provider or registry rejected or lacks credentials."""

    exit_code = ExitCode.AUTH


class ProviderAPIError(ShipitError):
    """A provider API call failed: HTTP status, GraphQL errors or transport failure."""

    exit_code = ExitCode.PROVIDER

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.request_id = request_id
        parts = [f"{provider} API"]
        if status is not None:
            parts.append(f"HTTP {status}")
        text = " ".join(parts) + f": {message}"
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text, hint=hint)


class DeployFailedError(ShipitError):
    """A build, deploy or health gate failed; ``log_tail`` holds the last lines to show."""

    exit_code = ExitCode.DEPLOY

    def __init__(
        self, message: str, *, log_tail: Sequence[str] = (), hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.log_tail = list(log_tail)


class ChecksFailedError(ShipitError):
    """``shipit doctor`` found at least one failing check (each is printed with its fix)."""

    exit_code = ExitCode.DEPLOY
