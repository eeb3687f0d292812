"""The fake-server harness and the fake Railway: fault injection, journal, schema checks, state."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from tests.fakes.railway import RailwayState, railway_server, seeded_state
from tests.fakes.server import FakeRequest, FakeResponse, FakeServer

TOKEN = "fake-token-1"


@pytest.fixture
def echo() -> Iterator[FakeServer]:
    def app(request: FakeRequest) -> FakeResponse:
        return FakeResponse.json({"path": request.path, "body": request.json()})

    with FakeServer(app) as server:
        yield server


@pytest.fixture
def railway(shared_dir) -> Iterator[tuple[FakeServer, RailwayState]]:
    with railway_server(seeded_state(TOKEN)) as running:
        yield running


def post(server: FakeServer, body: dict, token: str = TOKEN) -> httpx.Response:
    return httpx.post(
        f"{server.url}/graphql/v2", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_faults_apply_to_the_next_matching_requests_then_stop(echo: FakeServer) -> None:
    echo.faults.add(status=429, headers={"Retry-After": "2"}, times=2, path="/limited")
    answers = [httpx.get(f"{echo.url}/limited").status_code for _ in range(3)]
    assert answers == [429, 429, 200]
    assert httpx.get(f"{echo.url}/other").status_code == 200
    assert [e.status for e in echo.journal.entries(path="/limited")] == [429, 429, 200]
    assert [e.faulted for e in echo.journal.entries(path="/limited")] == [True, True, False]


def test_graphql_errors_delays_and_dropped_connections(echo: FakeServer) -> None:
    echo.faults.add(graphql_errors=[{"message": "Not Authorized"}], operation="Q")
    answer = httpx.post(echo.url, json={"query": "{x}", "operationName": "Q"})
    assert (answer.status_code, answer.json()["errors"][0]["message"]) == (200, "Not Authorized")

    echo.faults.add(delay=0.3)
    started = time.monotonic()
    assert httpx.get(f"{echo.url}/slow").json()["path"] == "/slow"
    assert time.monotonic() - started >= 0.3

    echo.faults.add(drop=True)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{echo.url}/dropped")


def test_faults_and_the_journal_work_over_http(echo: FakeServer) -> None:
    httpx.post(f"{echo.url}/_fake/faults", json={"status": 503, "path": "/x"})
    assert httpx.get(f"{echo.url}/x").status_code == 503
    journal = httpx.get(f"{echo.url}/_fake/journal").json()
    assert [(e["path"], e["status"]) for e in journal] == [("/x", 503)]
    httpx.delete(f"{echo.url}/_fake/journal")
    assert echo.journal.count() == 0


def test_the_fake_refuses_documents_the_schema_refuses(railway) -> None:
    server, state = railway
    bad_field = post(server, {"query": 'query Bad { deployment(id: "x") { nope } }'})
    bad_variable = post(
        server,
        {
            "query": "query V($id: String!) { deployment(id: $id) { id } }",
            "variables": {"id": 5},
            "operationName": "V",
        },
    )
    assert bad_field.status_code == 400
    assert bad_field.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert bad_variable.status_code == 400
    assert bad_variable.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(state.invalid) == 2


def test_the_fake_answers_in_the_schemas_shape_and_refuses_bad_tokens(railway) -> None:
    server, state = railway
    query = {"query": "query P { projects { edges { node { id name } } } }", "operationName": "P"}
    answer = post(server, query).json()
    assert answer == {
        "data": {
            "projects": {"edges": [{"node": {"id": state.find("project", "shop"), "name": "shop"}}]}
        }
    }
    refused = post(server, query, token="wrong").json()
    assert refused["data"] is None
    assert refused["errors"][0]["message"] == "Not Authorized"


def test_deployments_move_through_their_states_one_read_at_a_time(railway) -> None:
    server, state = railway
    env, web = state.find("environment", "staging"), state.find("service", "web")
    state.instances[(env, web)]["source"]["image"] = "ghcr.io/x/y@sha256:" + "1" * 64
    deploy = {
        "query": "mutation D($e: String!, $s: String!) {"
        " serviceInstanceDeployV2(environmentId: $e, serviceId: $s) }",
        "variables": {"e": env, "s": web},
        "operationName": "D",
    }
    deployment_id = post(server, deploy).json()["data"]["serviceInstanceDeployV2"]
    read = {
        "query": "query R($id: String!) { deployment(id: $id) { status } }",
        "variables": {"id": deployment_id},
        "operationName": "R",
    }
    statuses = [post(server, read).json()["data"]["deployment"]["status"] for _ in range(4)]
    assert statuses == ["BUILDING", "DEPLOYING", "SUCCESS", "SUCCESS"]
    assert state.live(env, web).id == deployment_id
