"""Fly's backups: the backup list of the app's Managed Postgres cluster (respx).

Every REST request is checked against the Machines OpenAPI spec (``Postgres_backups_list`` is in
it) by the ``api`` fixture; answers come in the spec's ``{"data": [...]}`` shape and, since no
answer was recorded, as a bare list too.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from shipit.errors import ProviderAPIError
from shipit.providers.base import Capability, ReportsBackups
from shipit.providers.fly import FlyProvider

from .conftest import APP, FlyAPI, error

ORGANIZATION = {
    "organization": {"id": "O1", "slug": "personal", "rawSlug": "acme-personal", "name": "A"}
}
CLUSTER = {"id": "pg1", "name": f"{APP}-db", "status": "ready", "plan": "basic"}


def backup(status: str | None, finished: str | None, backup_id: str = "b1") -> dict[str, Any]:
    found: dict[str, Any] = {"id": backup_id, "type": "full", "size_bytes": 1024}
    if status is not None:
        found["status"] = status
    if finished is not None:
        found["started_at"] = finished
        found["finished_at"] = finished
    return found


@pytest.fixture
def cluster(api: FlyAPI) -> FlyAPI:
    api.on("ShipitOrganization", ORGANIZATION)
    api.on("Postgres_list", {"data": [{"id": "other", "name": "blog-db"}, CLUSTER]})
    return api


def test_fly_declares_backups_and_defines_the_operation(provider: FlyProvider) -> None:
    assert Capability.BACKUPS in FlyProvider.capabilities
    assert isinstance(provider, ReportsBackups)


def test_completed_backups_give_the_latest_time(cluster: FlyAPI, provider, web) -> None:
    cluster.on(
        "Postgres_backups_list",
        {
            "data": [
                backup("completed", "2026-08-20T03:00:00Z", "b1"),
                backup("failed", "2026-08-21T03:00:00Z", "b2"),
                backup("completed", "2026-08-21T02:00:00Z", "b3"),
            ]
        },
    )

    status = provider.backups(web)

    assert status is not None
    assert status.enabled is True
    assert status.latest == datetime(2026, 8, 21, 2, 0, tzinfo=UTC)
    assert status.detail == "2 completed backups"
    assert status.extra["cluster"] == "pg1"
    assert cluster.sent("Postgres_list")[0].query == {"org_slug": ["acme-personal"]}
    (sent,) = cluster.sent("Postgres_backups_list")
    assert sent.path == "/v1/postgres/pg1/backups"


def test_a_bare_list_and_a_backup_without_status_are_understood(
    cluster: FlyAPI, provider, web
) -> None:
    cluster.on("Postgres_backups_list", [backup(None, "2026-08-19T01:00:00.123456789Z")])
    status = provider.backups(web)
    assert status is not None
    assert status.enabled is True
    assert status.latest == datetime(2026, 8, 19, 1, 0, 0, 123456, tzinfo=UTC)


def test_no_backups_is_not_enabled(cluster: FlyAPI, provider, web) -> None:
    cluster.on("Postgres_backups_list", {"data": []})
    status = provider.backups(web)
    assert status is not None
    assert (status.enabled, status.latest) == (False, None)
    assert status.detail == f"no backups of Managed Postgres '{APP}-db'"


def test_only_unfinished_backups_are_not_enough(cluster: FlyAPI, provider, web) -> None:
    cluster.on(
        "Postgres_backups_list",
        {"data": [backup("running", None), backup("failed", "2026-08-21T03:00:00Z", "b2")]},
    )
    status = provider.backups(web)
    assert status is not None
    assert status.enabled is False
    assert status.detail == f"no completed backup of Managed Postgres '{APP}-db' (failed, running)"


def test_an_unexpected_answer_is_an_error_not_a_verdict(cluster: FlyAPI, provider, web) -> None:
    cluster.on("Postgres_backups_list", {"data": {"backups": "soon"}})
    with pytest.raises(ProviderAPIError, match="unexpected shape"):
        provider.backups(web)


def test_no_cluster_yet_is_none(api: FlyAPI, provider, web) -> None:
    api.on("ShipitOrganization", ORGANIZATION)
    api.on("Postgres_list", {"data": [{"id": "other", "name": "blog-db", "status": "ready"}]})
    assert provider.backups(web) is None
    assert api.sent("Postgres_backups_list") == []


def test_a_service_without_postgres_asks_nothing(api: FlyAPI, provider, web) -> None:
    assert provider.backups(dataclasses.replace(web, database=None)) is None
    assert api.calls == []


def test_a_missing_cluster_is_an_api_error(cluster: FlyAPI, provider, web) -> None:
    cluster.on("Postgres_backups_list", error(404, "cluster not found"))
    with pytest.raises(ProviderAPIError) as caught:
        provider.backups(web)
    assert caught.value.status == 404
