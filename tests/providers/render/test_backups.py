"""Render's backups: the point-in-time recovery status of the environment's Postgres (respx).

Every request is checked against Render's OpenAPI document by the ``api`` fixture.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from shipit.errors import ProviderAPIError
from shipit.providers.base import Capability, ReportsBackups
from shipit.providers.render import RenderProvider
from shipit.providers.render import operations as ops

from .conftest import OWNER, RenderAPI, fixture, reply


def database(**changes: Any) -> dict[str, Any]:
    """Fixture 05's database, named as the environment's and available."""
    found: dict[str, Any] = fixture("05")["response_body"]
    return found | {"name": "staging-shop-db", "status": "available"} | changes


def listed(*found: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"postgres": d, "cursor": f"c{i}"} for i, d in enumerate(found)]


def test_render_declares_backups_and_defines_the_operation(provider: RenderProvider) -> None:
    assert Capability.BACKUPS in RenderProvider.capabilities
    assert isinstance(provider, ReportsBackups)


def test_available_recovery_is_backups_with_the_window(api: RenderAPI, provider, web) -> None:
    found = database()
    api.on(ops.LIST_POSTGRES, listed(database(name="other-db", id="dpg-other"), found))
    api.on(
        ops.POSTGRES_RECOVERY,
        {"recoveryStatus": "AVAILABLE", "startsAt": "2026-08-14T10:30:00Z"},
    )

    status = provider.backups(web)

    assert status is not None
    assert status.enabled is True
    assert status.detail == "point-in-time recovery available back to 2026-08-14T10:30:00+00:00"
    assert status.latest is None
    assert status.extra["recovery_from"] == datetime(2026, 8, 14, 10, 30, tzinfo=UTC)
    assert status.extra["postgres_id"] == found["id"]
    (listing,) = api.sent(ops.LIST_POSTGRES)
    assert listing.params["name"] == ["staging-shop-db"]
    assert listing.params["ownerId"] == [OWNER]
    (sent,) = api.sent(ops.POSTGRES_RECOVERY)
    assert sent.path == f"/v1/postgres/{found['id']}/recovery"


def test_a_free_database_without_recovery_has_no_backups(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_POSTGRES, listed(database(plan="free")))
    api.on(ops.POSTGRES_RECOVERY, {"recoveryStatus": "NOT_AVAILABLE"})

    status = provider.backups(web)

    assert status is not None
    assert status.enabled is False
    assert status.detail == "no point-in-time recovery: the free plan has no backups"
    assert status.extra["plan"] == "free"


def test_a_paid_database_without_recovery_says_what_render_said(
    api: RenderAPI, provider, web
) -> None:
    api.on(ops.LIST_POSTGRES, listed(database()))
    api.on(ops.POSTGRES_RECOVERY, {"recoveryStatus": "NOT_AVAILABLE"})
    status = provider.backups(web)
    assert status is not None
    assert status.enabled is False
    assert "NOT_AVAILABLE" in status.detail
    assert "basic_256mb" in status.detail


def test_a_first_backup_not_ready_yet_is_on(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_POSTGRES, listed(database(status="creating")))
    api.on(ops.POSTGRES_RECOVERY, {"recoveryStatus": "BACKUP_NOT_READY"})
    status = provider.backups(web)
    assert status is not None
    assert status.enabled is True
    assert "not ready yet" in status.detail


def test_no_database_yet_is_none(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_POSTGRES, listed(database(name="staging-shop-db-old")))
    assert provider.backups(web) is None
    assert api.sent(ops.POSTGRES_RECOVERY) == []


def test_a_service_without_postgres_asks_nothing(api: RenderAPI, provider, web) -> None:
    assert provider.backups(dataclasses.replace(web, database=None)) is None
    assert api.calls == []


def test_a_refused_recovery_read_is_an_api_error(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_POSTGRES, listed(database()))
    api.on(ops.POSTGRES_RECOVERY, reply(404, {"id": "x", "message": "not found"}))
    with pytest.raises(ProviderAPIError) as caught:
        provider.backups(web)
    assert caught.value.status == 404
