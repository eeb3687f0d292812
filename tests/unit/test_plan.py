"""The deploy plan: pure diff functions, and compute_plan against an in-memory provider."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.memory_provider import ALL, MemoryProvider, environment

from shipit.core.plan import (
    ActualService,
    DesiredService,
    compute_plan,
    diff_artifact,
    diff_database,
    diff_env,
    plan_service,
)
from shipit.providers.base import Artifact, Capability
from shipit.sensitive import Secret, redact, reveal
from shipit.ui import to_jsonable


def fp(name: str, value: str | Secret) -> str:
    """A stand-in fingerprint: deterministic, and never the value."""
    import hashlib

    return hashlib.sha256(f"{name}\0{reveal(value)}".encode()).hexdigest()[:8]


def test_first_deploy_adds_every_variable_and_fingerprints_secrets() -> None:
    changes, unmanaged = diff_env(
        {"DEBUG": "false", "SECRET_KEY": Secret("first-value-1234")},
        None,
        secret_names={"SECRET_KEY"},
        fingerprint=fp,
    )
    by_name = {c.name: c for c in changes}
    assert by_name["DEBUG"].action == "add"
    assert by_name["DEBUG"].new == "false"
    assert by_name["SECRET_KEY"].action == "add"
    assert by_name["SECRET_KEY"].secret is True
    assert by_name["SECRET_KEY"].new == fp("SECRET_KEY", Secret("first-value-1234"))
    assert unmanaged == ()


def test_a_changed_secret_shows_changed_with_fingerprints_never_the_value() -> None:
    old, new = "old-secret-value-aaaa", "new-secret-value-bbbb"
    changes, _ = diff_env(
        {"SECRET_KEY": Secret(new)},
        {"SECRET_KEY": Secret(old)},
        secret_names={"SECRET_KEY"},
        fingerprint=fp,
    )
    (change,) = changes
    assert change.action == "change"
    assert change.old == fp("SECRET_KEY", Secret(old))
    assert change.new == fp("SECRET_KEY", Secret(new))
    assert change.old != change.new
    shown = change.describe() + json.dumps(change.to_dict())
    assert "changed" in change.describe()
    assert old not in shown
    assert new not in shown
    assert set(change.to_dict()) == {
        "name",
        "action",
        "secret",
        "old_fingerprint",
        "new_fingerprint",
    }


def test_a_secret_value_returned_as_plain_text_is_still_masked() -> None:
    changes, _ = diff_env(
        {"API_KEY": Secret("new-api-key-9876")},
        {"API_KEY": "old-api-key-5432"},
        secret_names={"API_KEY"},
        fingerprint=fp,
    )
    assert "old-api-key-5432" not in changes[0].describe()
    assert changes[0].secret


def test_equal_values_are_not_changes_and_plain_changes_show_values() -> None:
    changes, _ = diff_env(
        {"DEBUG": "false", "LOG_LEVEL": "debug", "SECRET_KEY": Secret("same-value-0000")},
        {"DEBUG": "false", "LOG_LEVEL": "info", "SECRET_KEY": Secret("same-value-0000")},
        secret_names={"SECRET_KEY"},
        fingerprint=fp,
    )
    assert [(c.name, c.action, c.old, c.new) for c in changes] == [
        ("LOG_LEVEL", "change", "info", "debug")
    ]
    assert changes[0].describe() == "~ LOG_LEVEL: 'info' -> 'debug'"


def test_variables_not_in_config_are_kept_unless_unset() -> None:
    actual = {"DEBUG": "false", "OLD": "1", "PORT": "8000", "GONE": "x"}
    changes, unmanaged = diff_env(
        {"DEBUG": "false"}, actual, secret_names=(), fingerprint=fp, unset={"GONE"}
    )
    assert [(c.name, c.action, c.old) for c in changes] == [("GONE", "remove", "x")]
    assert unmanaged == ("OLD",)  # PORT is injected by the platform, never reported


def test_unreadable_secret_values_are_unverified_not_changes() -> None:
    changes, _ = diff_env(
        {"SECRET_KEY": Secret("whatever-1234")},
        {"SECRET_KEY": Secret("")},
        secret_names={"SECRET_KEY"},
        fingerprint=fp,
        secret_values_readable=False,
    )
    assert changes[0].action == "unverified"
    assert not changes[0].counts


def test_artifact_diff() -> None:
    a = Artifact("image", "r/web@sha256:aaa", digest="sha256:aaa")
    a_again = Artifact("image", "r/web:1@sha256:aaa", digest="sha256:aaa")
    b = Artifact("image", "r/web@sha256:bbb", digest="sha256:bbb")
    assert diff_artifact(a_again, a).action == "same"
    assert diff_artifact(b, a).action == "change"
    assert diff_artifact(b, None).action == "new"
    unknown = diff_artifact(None, a)
    assert unknown.action == "build"
    assert unknown.counts
    assert "built at deploy" in unknown.describe()


def test_database_diff() -> None:
    assert diff_database(None, {}, can_link=True) is None
    assert diff_database("postgres", None, can_link=True).action == "link"  # type: ignore[union-attr]
    linked = diff_database("postgres", {"DATABASE_URL": Secret("postgres://x")}, can_link=True)
    assert linked is not None
    assert linked.action == "linked"
    assert not linked.counts
    assert diff_database("postgres", {}, can_link=False).action == "unsupported"  # type: ignore[union-attr]


def desired(**changes: object) -> DesiredService:
    base: dict[str, object] = {
        "name": "web",
        "remote_name": "web",
        "env": {"DEBUG": "false"},
        "secret_names": frozenset(),
        "database": None,
        "artifact": Artifact("bundle", "abc"),
    }
    base.update(changes)
    return DesiredService(**base)  # type: ignore[arg-type]


def test_plan_service_actions() -> None:
    live = Artifact("bundle", "abc")
    same = ActualService(live=live, env={"DEBUG": "false"}, exists=True)
    unchanged = plan_service(desired(), same, fingerprint=fp)
    assert unchanged.action == "none"
    assert unchanged.restart is True  # a deploy still rolls the same release out again
    assert not unchanged.changes

    new_code = plan_service(desired(artifact=Artifact("bundle", "def")), same, fingerprint=fp)
    assert new_code.action == "update"

    first = plan_service(desired(), ActualService(None, None, exists=False), fingerprint=fp)
    assert first.action == "create"
    assert first.restart is False

    with_db = plan_service(desired(database="postgres"), same, fingerprint=fp)
    assert with_db.action == "update"
    assert with_db.database is not None
    assert with_db.database.action == "link"


def test_compute_plan_reads_only_and_round_trips_to_json(tmp_path: Path) -> None:
    env = environment(tmp_path)
    provider = MemoryProvider()
    provider.live["web"] = Artifact("source", "web-v1")
    provider.env["web"] = {
        "DEBUG": "false",
        "LOG_LEVEL": "info",
        "SECRET_KEY": Secret("old-secret-1111"),
    }
    secrets = {"SECRET_KEY": Secret("new-secret-2222")}
    plan = compute_plan(env, provider, secrets, fingerprint=fp)

    writes = {"build", "set_env", "link_db", "deploy", "settle", "stop"}
    assert not [call for call in provider.calls if call[0] in writes]
    web, worker = plan.services
    assert web.action == "update"
    assert [(c.name, c.action) for c in web.env] == [("SECRET_KEY", "change")]
    assert worker.action == "create"
    assert plan.changes
    document = json.dumps(to_jsonable(plan.to_dict()))
    assert "new-secret-2222" not in document
    assert "old-secret-1111" not in document
    assert json.loads(document)["changes"] is True
    assert plan.expected_builds == {
        "web": Artifact("source", "web-v1"),
        "worker": Artifact("source", "worker-v1"),
    }
    assert plan.ready_artifacts == {}


def test_compute_plan_after_a_deploy_has_no_changes(tmp_path: Path) -> None:
    env = environment(tmp_path)
    provider = MemoryProvider()
    secret = Secret("a-secret-value-3333")
    for name in ("web", "worker"):
        provider.live[name] = Artifact("source", f"{name}-v1")
    provider.env["web"] = {"DEBUG": "false", "LOG_LEVEL": "info", "SECRET_KEY": secret}
    provider.env["worker"] = {}
    plan = compute_plan(env, provider, {"SECRET_KEY": secret}, services=["web"], fingerprint=fp)
    assert [s.service for s in plan.services] == ["web"]
    assert not plan.changes


def test_a_provider_without_planned_artifact_means_will_build(tmp_path: Path) -> None:
    env = environment(tmp_path)

    class NoAhead(MemoryProvider):
        planned_artifact = None  # type: ignore[assignment]

    provider = NoAhead()
    provider.live["worker"] = Artifact("source", "worker-v1")
    provider.env["worker"] = {}
    plan = compute_plan(env, provider, {}, services=["worker"], fingerprint=fp)
    assert plan.services[0].artifact.action == "build"
    assert plan.changes


def test_a_provider_that_cannot_read_env_notes_it(tmp_path: Path) -> None:
    env = environment(tmp_path)
    provider = MemoryProvider(capabilities=ALL - {Capability.READ_ENV})
    provider.live["worker"] = Artifact("source", "worker-v1")
    plan = compute_plan(env, provider, {}, services=["worker"], fingerprint=fp)
    assert ("get_env", "worker") not in provider.calls
    assert any("cannot list variables" in note for note in plan.services[0].notes)


def test_diffing_plain_values_does_not_mark_them_secret() -> None:
    diff_env(
        {"FLAG_VALUE_X": "plain-value-7781"},
        {"FLAG_VALUE_X": "plain-value-7782"},
        secret_names=(),
        fingerprint=fp,
    )
    assert redact("plain-value-7781 plain-value-7782") == "plain-value-7781 plain-value-7782"
