"""Choosing what promote moves and what rollback restores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipit.core.releases import rollback_target
from shipit.errors import UsageError
from shipit.providers.base import Artifact, Capability, Release

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def release(
    ref: str, age: int, *, live: bool = False, name: str | None = None, state: str = "live"
) -> Release:
    return Release(
        id=ref,
        service="web",
        artifact=Artifact("bundle", ref),
        created_at=NOW - timedelta(minutes=age),
        name=name,
        live=live,
        state=state,  # type: ignore[arg-type]
    )


class Service:
    name = "web"


SERVICE = Service()


class FakeProvider:
    name = "fake"
    capabilities = frozenset({Capability.RELEASES, Capability.ROLLBACK})

    def __init__(self, releases: list[Release]) -> None:
        self._releases = releases

    def releases(self, service: object) -> list[Release]:
        return self._releases


def test_default_is_the_release_before_live_with_another_artifact() -> None:
    provider = FakeProvider([release("b", 1, live=True), release("b", 2), release("a", 3)])
    assert rollback_target(provider, SERVICE, None, environment="preview").id == "a"  # type: ignore[arg-type]


def test_failed_attempts_are_skipped() -> None:
    provider = FakeProvider(
        [release("c", 0, state="failed"), release("b", 1, live=True), release("a", 3)]
    )
    assert rollback_target(provider, SERVICE, None, environment="p").id == "a"  # type: ignore[arg-type]


def test_to_matches_name_or_id_prefix() -> None:
    provider = FakeProvider(
        [release("bbbb", 1, live=True, name="v2"), release("aaaa", 3, name="v1")]
    )
    assert rollback_target(provider, SERVICE, "v1", environment="p").id == "aaaa"  # type: ignore[arg-type]
    assert rollback_target(provider, SERVICE, "aa", environment="p").id == "aaaa"  # type: ignore[arg-type]


def test_unknown_release_lists_recent_ones() -> None:
    provider = FakeProvider([release("bbbb", 1, live=True, name="v2")])
    with pytest.raises(UsageError, match=r"no release 'v9'.*v2"):
        rollback_target(provider, SERVICE, "v9", environment="p")  # type: ignore[arg-type]


def test_nothing_earlier_is_an_error() -> None:
    provider = FakeProvider([release("b", 1, live=True), release("b", 2)])
    with pytest.raises(UsageError, match="no earlier release"):
        rollback_target(provider, SERVICE, None, environment="p")  # type: ignore[arg-type]


CONFIG = """\
[project]
name = "p"
pipeline = ["local", "staging", "production"]

[services.web]
start = "run"

[environments.local]
[environments.staging]
[environments.production]
"""


@pytest.fixture
def loaded(tmp_path):
    from shipit.config import parse_config

    return parse_config(CONFIG, tmp_path / "shipit.toml")


def test_promote_defaults_follow_the_pipeline(loaded) -> None:
    from shipit.core.releases import promote_source, promote_target

    assert promote_source(loaded, "production", None) == "staging"
    assert promote_source(loaded, "staging", "local") == "local"
    assert promote_target(loaded, None, "staging") == "production"
    assert promote_target(loaded, "staging", None) == "staging"


def test_promote_without_a_place_to_go_says_how(loaded) -> None:
    from shipit.core.releases import promote_source, promote_target

    with pytest.raises(UsageError, match="no environment before it"):
        promote_source(loaded, "local", None)
    with pytest.raises(UsageError, match="same environment"):
        promote_source(loaded, "staging", "staging")
    with pytest.raises(UsageError, match="--to"):
        promote_target(loaded, None, "production")


def test_live_artifacts_refuse_a_source_build() -> None:
    from shipit.core.releases import live_artifacts

    source = Release(
        id="d1", service="web", artifact=Artifact("source", "upload:d1"), created_at=NOW, live=True
    )
    with pytest.raises(UsageError, match="cannot be promoted") as caught:
        live_artifacts(FakeProvider([source]), [SERVICE], source_env="staging")  # type: ignore[list-item]
    assert caught.value.hint and "[build]" in caught.value.hint


def test_live_artifacts_need_something_live() -> None:
    from shipit.core.releases import live_artifacts

    with pytest.raises(UsageError, match="nothing is live"):
        live_artifacts(FakeProvider([release("a", 3)]), [SERVICE], source_env="staging")  # type: ignore[list-item]
    found = live_artifacts(FakeProvider([release("a", 1, live=True)]), [SERVICE], source_env="s")  # type: ignore[list-item]
    assert found == {"web": Artifact("bundle", "a")}
