"""shipit.http: retry policy and deadline, the response check, GraphQL errors, the masked trace."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from shipit import http
from shipit.errors import AuthError, ExitCode, ProviderAPIError, UsageError
from shipit.sensitive import Secret

URL = "https://api.example.test/v1/thing"
GQL = "https://api.example.test/graphql"


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(fake_time: FakeTime) -> Iterator[http.ProviderClient]:
    policy = http.RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock)
    with http.make_client(
        "acme",
        headers={"Authorization": "Bearer tok-123456"},
        auth_hint="set ACME_TOKEN",
        auth_messages=("not authorized",),
        policy=policy,
    ) as made:
        yield made


# base URLs --------------------------------------------------------------------------------
def test_base_url_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert http.base_url("railway", "https://default.test/x") == "https://default.test/x"
    monkeypatch.setenv("SHIPIT_RAILWAY_API_URL", "http://127.0.0.1:9/graphql/v2/")
    assert http.base_url("railway", "https://default.test/x") == "http://127.0.0.1:9/graphql/v2"
    monkeypatch.setenv("SHIPIT_FLY_MACHINES_URL", "localhost:9")
    with pytest.raises(UsageError, match="SHIPIT_FLY_MACHINES_URL"):
        http.base_url("fly_machines", "https://api.machines.dev/v1")


def test_every_documented_override_variable_is_known() -> None:
    assert set(http.BASE_URL_VARIABLES.values()) == {
        "SHIPIT_RAILWAY_API_URL",
        "SHIPIT_RENDER_API_URL",
        "SHIPIT_FLY_MACHINES_URL",
        "SHIPIT_FLY_GRAPHQL_URL",
    }


# the client -------------------------------------------------------------------------------
def test_clients_have_explicit_timeouts_and_a_user_agent(client: http.ProviderClient) -> None:
    assert client.timeout.connect == http.CONNECT_TIMEOUT == 5.0
    assert client.timeout.read == http.READ_TIMEOUT == 30.0
    assert http.STREAM_TIMEOUT.read is None
    assert client.headers["User-Agent"] == f"shipit/{__import__('shipit').__version__}"


# retry policy -----------------------------------------------------------------------------
def test_backoff_doubles_up_to_its_cap_and_retry_after_can_lengthen_it() -> None:
    policy = http.RetryPolicy(backoff=0.5, max_backoff=4.0)
    assert [policy.pause(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.pause(0, retry_after=7.0) == 7.0
    assert policy.pause(3, retry_after=1.0) == 4.0


def test_no_retry_past_the_attempts_or_the_deadline(fake_time: FakeTime) -> None:
    policy = http.RetryPolicy(attempts=3, deadline=10.0, clock=fake_time.clock)
    assert policy.next_pause(0, started=0.0) == 0.5
    assert policy.next_pause(2, started=0.0) is None  # the third try was the last
    fake_time.now = 9.8
    assert policy.next_pause(0, started=0.0) is None  # would end after the deadline
    assert policy.next_pause(0, started=0.0, retry_after=0.1) is None


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert http.retry_after("3", now=now) == 3.0
    assert http.retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert http.retry_after("soon", now=now) is None
    assert http.retry_after(None, now=now) is None


@respx.mock
def test_reads_are_retried_on_502_to_504(client: http.ProviderClient, fake_time: FakeTime) -> None:
    route = respx.get(URL).mock(
        side_effect=[httpx.Response(502), httpx.Response(504), httpx.Response(200, json={"ok": 1})]
    )
    response = http.request(client, "GET", URL, retry=True)
    assert response.json() == {"ok": 1}
    assert route.call_count == 3
    assert fake_time.sleeps == [0.5, 1.0]


@respx.mock
def test_429_honours_retry_after(client: http.ProviderClient, fake_time: FakeTime) -> None:
    route = respx.get(URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    )
    http.request(client, "GET", URL, retry=True)
    assert route.call_count == 2
    assert fake_time.sleeps == [7.0]


@respx.mock
def test_a_retry_after_beyond_the_deadline_fails_at_once(
    client: http.ProviderClient, fake_time: FakeTime
) -> None:
    respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "600"}))
    with pytest.raises(ProviderAPIError) as caught:
        http.request(client, "GET", URL, retry=True)
    assert caught.value.status == 429
    assert caught.value.exit_code == ExitCode.PROVIDER
    assert "retry in 600 s" in (caught.value.hint or "")
    assert fake_time.sleeps == []


@respx.mock
def test_retries_stop_at_the_deadline(fake_time: FakeTime) -> None:
    policy = http.RetryPolicy(
        attempts=50,
        backoff=4.0,
        max_backoff=4.0,
        deadline=10.0,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    route = respx.get(URL).mock(return_value=httpx.Response(503))
    with http.make_client("acme", policy=policy) as limited, pytest.raises(ProviderAPIError):
        http.request(limited, "GET", URL, retry=True)
    assert fake_time.sleeps == [4.0, 4.0]
    assert route.call_count == 3


@respx.mock
def test_calls_that_are_not_safe_to_repeat_are_sent_once(
    client: http.ProviderClient, fake_time: FakeTime
) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(ProviderAPIError) as caught:
        http.request(client, "POST", URL, json={}, retry=False)
    assert route.call_count == 1
    assert caught.value.status == 429
    assert fake_time.sleeps == []


@respx.mock
def test_connection_failures_are_retried_then_reported(
    client: http.ProviderClient, fake_time: FakeTime
) -> None:
    route = respx.get(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderAPIError) as caught:
        http.request(client, "GET", URL, retry=True)
    assert route.call_count == client.policy.attempts
    assert "cannot connect to https://api.example.test" in str(caught.value)
    assert caught.value.hint and "reachable" in caught.value.hint


@respx.mock
def test_a_500_is_not_retried(client: http.ProviderClient, fake_time: FakeTime) -> None:
    route = respx.get(URL).mock(
        return_value=httpx.Response(
            500, json={"message": "boom"}, headers={"X-Request-Id": "req-9"}
        )
    )
    with pytest.raises(ProviderAPIError) as caught:
        http.request(client, "GET", URL, retry=True)
    assert route.call_count == 1
    assert str(caught.value) == "acme API HTTP 500: boom (request id req-9)"
    assert caught.value.request_id == "req-9"


@pytest.mark.parametrize("status", [401, 403])
@respx.mock
def test_401_and_403_are_auth_errors_naming_the_token(
    client: http.ProviderClient, status: int
) -> None:
    respx.get(URL).mock(return_value=httpx.Response(status, json={"error": "bad token"}))
    with pytest.raises(AuthError) as caught:
        http.request(client, "GET", URL, retry=True)
    assert caught.value.exit_code == ExitCode.AUTH == 3
    assert caught.value.hint == "set ACME_TOKEN"
    assert f"HTTP {status}" in str(caught.value)


# GraphQL ----------------------------------------------------------------------------------
@respx.mock
def test_graphql_returns_data_and_leaves_out_null_root_variables(
    client: http.ProviderClient,
) -> None:
    route = respx.post(GQL).mock(return_value=httpx.Response(200, json={"data": {"x": 1}}))
    data = http.graphql(
        client, GQL, "query Q($a: Int, $b: Int) { x }", {"a": 1, "b": None}, "Q", retry=True
    )
    assert data == {"x": 1}
    sent = route.calls.last.request
    assert json.loads(sent.content) == {
        "query": "query Q($a: Int, $b: Int) { x }",
        "variables": {"a": 1},
        "operationName": "Q",
    }


@respx.mock
def test_graphql_errors_with_http_200_raise(client: http.ProviderClient) -> None:
    respx.post(GQL).mock(
        return_value=httpx.Response(
            200,
            json={
                "data": None,
                "errors": [
                    {"message": "Project not found", "extensions": {"traceId": "t-1"}},
                    {"message": "second"},
                ],
            },
        )
    )
    with pytest.raises(http.GraphQLResponseError) as caught:
        http.graphql(client, GQL, "query Q { x }", retry=True)
    error = caught.value
    assert error.exit_code == ExitCode.PROVIDER
    assert str(error) == "acme API: Project not found (and 1 more) (request id t-1)"
    assert error.mentions("project NOT found")
    assert error.messages == ["Project not found", "second"]


@respx.mock
def test_graphql_auth_messages_are_auth_errors(client: http.ProviderClient) -> None:
    respx.post(GQL).mock(
        return_value=httpx.Response(
            200, json={"data": None, "errors": [{"message": "Not Authorized"}]}
        )
    )
    with pytest.raises(AuthError) as caught:
        http.graphql(client, GQL, "query Q { x }", retry=True)
    assert caught.value.exit_code == 3
    assert caught.value.hint == "set ACME_TOKEN"


@respx.mock
def test_graphql_400_reports_the_validation_message(client: http.ProviderClient) -> None:
    respx.post(GQL).mock(
        return_value=httpx.Response(
            400,
            json={
                "errors": [
                    {
                        "message": 'Cannot query field "nope" on type "Query".',
                        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                    }
                ]
            },
        )
    )
    with pytest.raises(http.GraphQLResponseError, match='Cannot query field "nope"') as caught:
        http.graphql(client, GQL, "query Q { nope }", retry=True)
    assert caught.value.status == 400


@respx.mock
def test_graphql_without_data_or_json_is_an_error(client: http.ProviderClient) -> None:
    respx.post(GQL).mock(
        side_effect=[httpx.Response(200, json={"data": None}), httpx.Response(200, text="<html>")]
    )
    with pytest.raises(ProviderAPIError, match="no data"):
        http.graphql(client, GQL, "query Q { x }", retry=True)
    with pytest.raises(ProviderAPIError, match="not JSON"):
        http.graphql(client, GQL, "query Q { x }", retry=True)


@respx.mock
def test_graphql_mutations_sent_without_retry_are_not_repeated(
    client: http.ProviderClient, fake_time: FakeTime
) -> None:
    route = respx.post(GQL).mock(return_value=httpx.Response(503))
    with pytest.raises(ProviderAPIError):
        http.graphql(client, GQL, "mutation M { deploy }", retry=False)
    assert route.call_count == 1


# trace ------------------------------------------------------------------------------------
@pytest.fixture
def trace() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    http.enable_trace(stream)
    yield stream
    http.disable_trace()


@respx.mock
def test_the_trace_masks_tokens_and_secret_values(
    client: http.ProviderClient, trace: io.StringIO
) -> None:
    secret = Secret("hunter2-very-secret")
    respx.post(GQL).mock(
        return_value=httpx.Response(200, json={"data": {"echo": "hunter2-very-secret"}})
    )
    client.headers["Project-Access-Token"] = "ptok-abcdef"
    http.graphql(
        client, GQL, "mutation M($v: String) { echo }", {"v": secret.reveal()}, retry=False
    )
    text = trace.getvalue()
    assert "POST https://api.example.test/graphql" in text
    assert '"authorization": "Bearer [REDACTED]"' in text
    assert '"project-access-token": "[REDACTED]"' in text
    assert "tok-123456" not in text
    assert "ptok-abcdef" not in text
    assert "hunter2-very-secret" not in text
    assert "< 200 POST" in text


def test_mask_headers_keeps_the_scheme_only() -> None:
    masked = http.mask_headers(
        {"Authorization": "FlyV1 fake-macaroon", "X-Api-Key": "k", "Accept": "application/json"}
    )
    assert masked == {
        "Authorization": "FlyV1 [REDACTED]",
        "X-Api-Key": "[REDACTED]",
        "Accept": "application/json",
    }
