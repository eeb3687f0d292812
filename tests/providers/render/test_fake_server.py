"""The fake Render: OpenAPI checks on every request, keys, deploy states, logs paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.fakes.openapi import validate_response
from tests.fakes.render import OWNER_ID, SPEC_PATH, RenderState, render_server, seeded_state
from tests.fakes.server import FakeServer

TOKEN = "fake-render-key"
IMAGE = "ghcr.io/example/web@sha256:" + "c3" * 32
OTHER = "ghcr.io/example/web@sha256:" + "d4" * 32


@pytest.fixture
def render() -> Iterator[tuple[FakeServer, RenderState]]:
    with render_server(seeded_state(TOKEN)) as running:
        yield running


def call(
    server: FakeServer, method: str, path: str, token: str = TOKEN, **kwargs: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, f"{server.url}/v1{path}", headers=headers, timeout=5, **kwargs)


def create_service(server: FakeServer, name: str = "web") -> dict[str, Any]:
    body = {
        "type": "web_service",
        "name": name,
        "ownerId": OWNER_ID,
        "autoDeploy": "no",
        "image": {"ownerId": OWNER_ID, "imagePath": IMAGE},
        "serviceDetails": {"runtime": "image", "healthCheckPath": "/health"},
        "envVars": [{"key": "A", "value": "1"}],
    }
    answer = call(server, "POST", "/services", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_requests_the_spec_refuses_get_400_and_are_recorded(render) -> None:
    server, state = render
    bad_body = call(server, "POST", "/services/srv-x/deploys", json={"clearCache": True})
    bad_query = call(server, "GET", "/services", params={"limit": "500"})
    unknown = call(server, "DELETE", "/services/srv-x/deploys")
    assert [r.status_code for r in (bad_body, bad_query, unknown)] == [400, 400, 400]
    assert "clearCache" in bad_body.json()["message"]
    assert len(state.invalid) == 3


def test_a_wrong_key_gets_401(render) -> None:
    server, _ = render
    answer = call(server, "GET", "/services", token="wrong")
    assert answer.status_code == 401
    assert answer.json()["message"] == "unauthorized"


def test_deploys_move_through_renders_statuses_one_read_at_a_time(render) -> None:
    server, state = render
    created = create_service(server)
    service_id, first = created["service"]["id"], created["deployId"]

    def status(deploy_id: str) -> str:
        return str(
            call(server, "GET", f"/services/{service_id}/deploys/{deploy_id}").json()["status"]
        )

    assert [status(first) for _ in range(3)] == ["update_in_progress", "live", "live"]
    second = call(server, "POST", f"/services/{service_id}/deploys", json={"imageUrl": OTHER})
    assert second.status_code == 201
    assert second.json()["image"] == {"ref": OTHER, "sha": "sha256:" + "d4" * 32}
    assert [status(second.json()["id"]) for _ in range(2)] == ["update_in_progress", "live"]
    assert status(first) == "deactivated"
    listed = call(server, "GET", f"/services/{service_id}/deploys", params={"limit": "1"}).json()
    assert [d["deploy"]["id"] for d in listed] == [second.json()["id"]]
    assert state.invalid == []


def test_a_deploy_while_another_runs_is_queued_with_an_empty_202(render) -> None:
    server, _ = render
    created = create_service(server)
    service_id = created["service"]["id"]
    queued = call(server, "POST", f"/services/{service_id}/deploys", json={})
    assert (queued.status_code, queued.content) == (202, b"")
    found = call(
        server, "GET", f"/services/{service_id}/deploys", params={"status": "queued"}
    ).json()
    assert len(found) == 1


def test_images_from_another_repository_are_refused(render) -> None:
    server, _ = render
    service_id = create_service(server)["service"]["id"]
    answer = call(
        server,
        "POST",
        f"/services/{service_id}/deploys",
        json={"imageUrl": "docker.io/library/nginx:latest"},
    )
    assert answer.status_code == 400


def test_logs_page_backward_and_forward_by_time_windows(render) -> None:
    server, state = render
    created = create_service(server)
    service_id = created["service"]["id"]
    deploy = state.deploys[created["deployId"]]
    for n in range(5):
        state.log(deploy, f"line {n}", "app")
    query = {"ownerId": OWNER_ID, "resource": service_id, "type": "app", "limit": "2"}

    newest = call(server, "GET", "/logs", params=query).json()
    older = call(
        server,
        "GET",
        "/logs",
        params={**query, "startTime": newest["nextStartTime"], "endTime": newest["nextEndTime"]},
    ).json()
    forward = call(server, "GET", "/logs", params={**query, "direction": "forward"}).json()

    assert [e["message"] for e in newest["logs"]] == ["line 4", "line 3"]
    assert newest["hasMore"] is True
    assert [e["message"] for e in older["logs"]] == ["line 2", "line 1"]
    assert [e["message"] for e in forward["logs"]] == ["line 0", "line 1"]
    build = call(server, "GET", "/logs", params={**query, "type": "build"}).json()
    assert [e["message"] for e in build["logs"]] == [f"==> Pulling image {IMAGE}"]


def test_variables_per_key_and_the_replace_all_put(render) -> None:
    server, state = render
    service_id = create_service(server)["service"]["id"]
    path = f"/services/{service_id}/env-vars"
    assert call(server, "PUT", f"{path}/B", json={"value": "2"}).json() == {
        "key": "B",
        "value": "2",
    }
    assert call(server, "DELETE", f"{path}/A").status_code == 204
    assert call(server, "DELETE", f"{path}/A").status_code == 404
    assert state.env[service_id] == {"B": "2"}
    call(server, "PUT", path, json=[{"key": "C", "value": "3"}])
    assert state.env[service_id] == {"C": "3"}  # fixture 04: the list is the complete set


def test_postgres_becomes_available_and_gives_its_connection_string(render) -> None:
    server, _ = render
    body = {"name": "db", "ownerId": OWNER_ID, "plan": "basic_256mb", "version": "16"}
    created = call(server, "POST", "/postgres", json=body)
    assert (created.status_code, created.json()["status"]) == (201, "unknown")
    postgres_id = created.json()["id"]
    states = [call(server, "GET", f"/postgres/{postgres_id}").json()["status"] for _ in range(2)]
    assert states == ["creating", "available"]
    info = call(server, "GET", f"/postgres/{postgres_id}/connection-info").json()
    assert info["internalConnectionString"].startswith("postgresql://")
    assert f"@{postgres_id}/" in info["internalConnectionString"]


def test_postgres_recovery_follows_the_plan_and_the_state(render) -> None:
    server, state = render
    answers = []
    for plan in ("basic_256mb", "free"):
        body = {"name": f"db-{plan}", "ownerId": OWNER_ID, "plan": plan, "version": "16"}
        postgres_id = call(server, "POST", "/postgres", json=body).json()["id"]
        answers.append(call(server, "GET", f"/postgres/{postgres_id}/recovery").json())
        call(server, "GET", f"/postgres/{postgres_id}")
        call(server, "GET", f"/postgres/{postgres_id}")
        answers.append(call(server, "GET", f"/postgres/{postgres_id}/recovery").json())
    assert [a["recoveryStatus"] for a in answers] == [
        "BACKUP_NOT_READY",
        "AVAILABLE",
        "NOT_AVAILABLE",
        "NOT_AVAILABLE",
    ]
    first = next(iter(state.postgres.values()))
    assert answers[1]["startsAt"] == first["createdAt"]
    for answer in answers:
        assert validate_response(SPEC_PATH, "retrieve-postgres-recovery-info", 200, answer) == []
    assert call(server, "GET", "/postgres/dpg-none/recovery").status_code == 404
    assert state.invalid == []


def test_rollback_and_suspend_resume(render) -> None:
    server, state = render
    created = create_service(server)
    service_id, first = created["service"]["id"], created["deployId"]
    call(server, "GET", f"/services/{service_id}/deploys/{first}")
    call(server, "GET", f"/services/{service_id}/deploys/{first}")
    back = call(server, "POST", f"/services/{service_id}/rollback", json={"deployId": first})
    assert (back.status_code, back.json()["trigger"]) == (201, "rollback")
    assert call(server, "POST", f"/services/{service_id}/suspend").status_code == 202
    assert state.services[service_id]["suspended"] == "suspended"
    assert call(server, "POST", f"/services/{service_id}/deploys", json={}).status_code == 400
    assert call(server, "POST", f"/services/{service_id}/resume").status_code == 202
    assert state.deploys_of(service_id)[-1].trigger == "service_resumed"
