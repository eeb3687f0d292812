"""The health gate: poll a provider's one-shot probe with a growing sleep capped by a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from shipit.errors import ProviderAPIError
from shipit.providers.base import HealthResult

if TYPE_CHECKING:
    from shipit.config.overlay import ServiceSpec
    from shipit.providers.base import Deployment, Provider

FIRST_SLEEP = 0.2
MAX_SLEEP = 3.0
GROWTH = 1.5


def wait_healthy(
    provider: Provider,
    service: ServiceSpec,
    deployment: Deployment,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
    cancelled: Callable[[], bool] = lambda: False,
) -> HealthResult:
    """Probe until healthy, failed (fails fast), cancelled or the deadline passes (then failed).

    A provider API error during a probe counts as ``pending``: a status endpoint that times out
    while the app is healthy must not fail the deploy (nor pass it); the deadline decides.
    """
    deadline = clock() + timeout
    pause = FIRST_SLEEP
    last = HealthResult("pending", "no probe yet")
    while True:
        try:
            last = provider.health(service, deployment)
        except ProviderAPIError as error:
            last = HealthResult("pending", f"probe failed: {error}")
        if last.state != "pending":
            return last
        remaining = deadline - clock()
        if remaining <= 0:
            detail = f"not healthy after {timeout:g}s"
            if last.detail:
                detail += f" (last: {last.detail})"
            return HealthResult("failed", detail, url=last.url, status_code=last.status_code)
        sleep(min(pause, remaining))
        if cancelled():
            return HealthResult("failed", "interrupted", url=last.url)
        pause = min(pause * GROWTH, MAX_SLEEP)
