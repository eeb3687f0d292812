"""`shipit env ...`, `login` and `logout` run in-process against an in-memory keyring."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import respx
from tests.fakes.memory_keyring import MemoryKeyring

from shipit.cli import app, options
from shipit.cli.options import GlobalOptions, extract
from shipit.ui import Output

CANARY = "leak-canary-unit-5b1e"

CONFIG = """\
# demo project: comments must survive every edit
[project]
name = "demo"

[services.web]
start = "python3 app.py"
env = { LOG_LEVEL = "info" }
secrets = ["SECRET_KEY", "API_TOKEN"]

[services.worker]
start = "python3 worker.py"
secrets = ["SECRET_KEY"]

# local gives the secrets plain development values
[environments.local]
env = { SECRET_KEY = "dev-plain-value", API_TOKEN = "dev-token-value" }

[environments.preview]
env = { LOG_LEVEL = "debug" }

[environments.staging]
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err

    def json(self) -> object:
        return json.loads(self.out)


Cli = Callable[..., Result]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "shipit.toml").write_text(CONFIG)
    monkeypatch.chdir(root)
    monkeypatch.delenv("CI", raising=False)
    return root


@pytest.fixture
def cli(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str, stdin: str = "") -> Result:
        opts, rest = extract(list(args))
        monkeypatch.setattr(options, "current", opts)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = app.run(rest, Output(json_mode=opts.json, verbose=opts.verbose))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def toml(project: Path) -> str:
    return (project / "shipit.toml").read_text()


# --- env set ----------------------------------------------------------------------------------


def test_set_from_stdin_strips_one_newline(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    result = cli("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin=f"{CANARY}\n\n")
    assert result.code == 0, result
    assert "stored SECRET_KEY" in result.out
    assert "shipit:demo:preview" in result.out
    assert memory_keyring.entries[("shipit:demo:preview", "SECRET_KEY")] == f"{CANARY}\n"
    assert CANARY not in result.output


def test_project_wide_secret_without_env(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    result = cli("--json", "env", "set", "API_TOKEN", "-", stdin=CANARY)
    assert result.code == 0, result
    assert result.json() == {
        "ok": True,
        "name": "API_TOKEN",
        "stored": "keyring",
        "scope": "project",
        "where": "shipit:demo",
    }


def test_secret_value_on_argv_is_refused(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    result = cli("env", "set", "SECRET_KEY", CANARY, "-e", "preview")
    assert result.code == 2
    assert "refusing a value for secret SECRET_KEY on the command line" in result.err
    assert "--allow-argv" in result.err
    assert CANARY not in result.output
    assert memory_keyring.entries == {}
    allowed = cli("env", "set", "SECRET_KEY", CANARY, "-e", "preview", "--allow-argv")
    assert allowed.code == 0
    assert memory_keyring.entries[("shipit:demo:preview", "SECRET_KEY")] == CANARY


def test_no_value_and_no_terminal_says_how(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    result = cli("env", "set", "SECRET_KEY", "-e", "preview")
    assert result.code == 2
    assert "no value for SECRET_KEY and no terminal" in result.err
    assert "env set SECRET_KEY - -e preview" in result.err


def test_prompt_on_a_terminal(
    cli: Cli, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    asked: list[dict[str, object]] = []

    def fake_prompt(text: str, **kwargs: object) -> str:
        asked.append(kwargs)
        return CANARY

    monkeypatch.setattr(GlobalOptions, "interactive", property(lambda self: True))
    monkeypatch.setattr(typer, "prompt", fake_prompt)
    result = cli("env", "set", "SECRET_KEY", "-e", "preview")
    assert result.code == 0, result
    assert asked[0]["hide_input"] is True
    assert asked[0]["confirmation_prompt"] is True
    assert memory_keyring.entries[("shipit:demo:preview", "SECRET_KEY")] == CANARY


def test_unlisted_name_warns(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    result = cli("env", "set", "STRIPE_KEY", "-", "-e", "preview", stdin=CANARY)
    assert result.code == 0
    assert "no service lists STRIPE_KEY in `secrets`" in result.err


def test_plain_value_shadowing_a_secret_warns(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    result = cli("env", "set", "SECRET_KEY", "-", "-e", "local", stdin=CANARY)
    assert result.code == 0
    assert "plain value in local, which wins there" in result.err


def test_plain_value_goes_into_shipit_toml(cli: Cli, project: Path) -> None:
    result = cli("env", "set", "FEATURE_FLAG", "on", "--plain", "-e", "preview")
    assert result.code == 0, result
    assert "[environments.preview] env" in result.out
    text = toml(project)
    assert 'env = { LOG_LEVEL = "debug", FEATURE_FLAG = "on" }' in text
    assert "# demo project: comments must survive every edit" in text
    assert "# local gives the secrets plain development values" in text
    service = cli("env", "set", "WORKERS", "3", "--plain", "-s", "worker")
    assert service.code == 0
    assert 'secrets = ["SECRET_KEY"]\nenv = { WORKERS = "3" }\n\n# local gives' in toml(project)


def test_plain_needs_a_table(cli: Cli) -> None:
    result = cli("env", "set", "FEATURE_FLAG", "on", "--plain")
    assert result.code == 2
    assert "-e ENV or -s SERVICE" in result.err


def test_plain_secret_name_still_refuses_argv(cli: Cli, project: Path) -> None:
    before = toml(project)
    result = cli("env", "set", "SECRET_KEY", CANARY, "--plain", "-e", "local")
    assert result.code == 2
    assert toml(project) == before


def test_no_keyring_is_a_clear_error(cli: Cli) -> None:
    result = cli("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin=CANARY)
    assert result.code == 2
    assert "no keyring backend is available" in result.err
    assert "gnome-keyring" in result.err
    assert CANARY not in result.output


def test_bad_arguments(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    assert cli("env", "set", "1BAD", "-", stdin="x").code == 2
    assert cli("env", "set", "A", "-", "-e", "nope", stdin="x").code == 2
    assert cli("env", "set", "A", "-", "--secret", "--plain", stdin="x").code == 2
    assert cli("env", "set", "A", "-", "-s", "web", stdin="x").code == 2
    empty = cli("env", "set", "SECRET_KEY", "-", stdin="")
    assert empty.code == 2
    assert "empty value" in empty.err


# --- list / unset -----------------------------------------------------------------------------


def test_list_masks_secrets_unless_revealed(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    cli("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin=CANARY)
    listed = cli("env", "list", "-e", "preview")
    assert listed.code == 0, listed
    lines = listed.out.splitlines()
    assert "NAME\tSERVICES\tSCOPE\tSOURCE\tVALUE" in lines
    assert "SECRET_KEY\tweb,worker\tenv\tkeyring\t[REDACTED]" in lines
    assert "API_TOKEN\tweb\t-\tmissing\t(not set)" in lines
    assert "LOG_LEVEL\tweb,worker\tconfig\tconfig\tdebug" in lines
    assert CANARY not in listed.output
    revealed = cli("env", "list", "-e", "preview", "--reveal")
    assert f"SECRET_KEY\tweb,worker\tenv\tkeyring\t{CANARY}" in revealed.out.splitlines()


def test_list_json(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    cli("env", "set", "SECRET_KEY", "-", stdin=CANARY)
    result = cli("--json", "env", "list", "-e", "staging")
    document = result.json()
    assert isinstance(document, dict)
    rows = {row["name"]: row for row in document["variables"]}
    assert rows["SECRET_KEY"]["scope"] == "project"
    assert rows["SECRET_KEY"]["where"] == "shipit:demo"
    assert rows["SECRET_KEY"]["value"] == "[REDACTED]"
    assert rows["API_TOKEN"]["set"] is False
    assert CANARY not in result.output
    revealed = cli("--json", "env", "list", "-e", "staging", "--reveal").json()
    assert isinstance(revealed, dict)
    assert {r["name"]: r["value"] for r in revealed["variables"]}["SECRET_KEY"] == CANARY


def test_list_local_needs_no_keyring_and_masks_plain_secrets(cli: Cli) -> None:
    result = cli("env", "list", "-e", "local")
    assert result.code == 0, result
    assert "SECRET_KEY\tweb,worker\tconfig\tconfig\t[REDACTED]" in result.out.splitlines()
    assert "dev-plain-value" not in result.out


def test_list_shows_stored_but_unused(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    cli("env", "set", "OLD_KEY", "-", "-e", "preview", stdin=CANARY)
    result = cli("env", "list", "-e", "preview")
    assert "OLD_KEY\t(unused)\tenv\tkeyring\t[REDACTED]" in result.out.splitlines()
    assert "listed by no service's `secrets`: OLD_KEY" in result.err


def test_unset(cli: Cli, memory_keyring: MemoryKeyring, project: Path) -> None:
    cli("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin=CANARY)
    result = cli("env", "unset", "SECRET_KEY", "-e", "preview")
    assert result.code == 0, result
    assert "removed SECRET_KEY from keyring service 'shipit:demo:preview'" in result.out
    assert ("shipit:demo:preview", "SECRET_KEY") not in memory_keyring.entries
    again = cli("env", "unset", "SECRET_KEY", "-e", "preview")
    assert again.code == 2
    assert "not set in environment 'preview'" in again.err
    plain = cli("env", "unset", "LOG_LEVEL", "-e", "preview", "--plain")
    assert plain.code == 0
    assert "LOG_LEVEL" not in toml(project).split("[environments.preview]")[1]


def test_unset_plain_works_without_a_keyring(cli: Cli, project: Path) -> None:
    result = cli("env", "unset", "LOG_LEVEL", "-e", "preview")
    assert result.code == 0, result
    assert (
        "[environments.preview]\n\n" in toml(project)
        or "LOG_LEVEL" not in toml(project).split("[environments.preview]")[1]
    )


# --- import / export --------------------------------------------------------------------------

DOTENV = f"""\
# exported from somewhere
export SECRET_KEY="{CANARY}"
API_TOKEN='{CANARY}-token # with hash'
FEATURE_FLAG=on
GREETING="hello # not a comment"
MULTI="first
second"
"""


def test_import_splits_secrets_and_plain(
    cli: Cli, memory_keyring: MemoryKeyring, project: Path
) -> None:
    (project / "prod.env").write_text(DOTENV)
    result = cli("env", "import", "prod.env", "-e", "preview")
    assert result.code == 0, result
    assert "stored 2 secrets (SECRET_KEY, API_TOKEN)" in result.out
    assert "wrote 3 plain values (FEATURE_FLAG, GREETING, MULTI)" in result.out
    assert memory_keyring.entries[("shipit:demo:preview", "API_TOKEN")] == (
        f"{CANARY}-token # with hash"
    )
    text = toml(project)
    assert CANARY not in text
    assert 'GREETING = "hello # not a comment"' in text
    assert 'MULTI = "first\\nsecond"' in text
    assert "# demo project: comments must survive every edit" in text
    assert CANARY not in result.output


def test_import_plain_needs_a_place(cli: Cli, memory_keyring: MemoryKeyring, project: Path) -> None:
    (project / "prod.env").write_text(DOTENV)
    before = toml(project)
    result = cli("env", "import", "prod.env")
    assert result.code == 2
    assert "FEATURE_FLAG, GREETING, MULTI" in result.err
    assert "-e ENV" in result.err
    assert memory_keyring.entries == {}
    assert toml(project) == before
    everything = cli("--json", "env", "import", "prod.env", "--secret")
    assert everything.code == 0
    document = everything.json()
    assert isinstance(document, dict)
    assert document["plain"] == []
    assert len(document["secrets"]) == 5
    assert toml(project) == before


def test_import_without_keyring_writes_nothing(cli: Cli, project: Path) -> None:
    (project / "prod.env").write_text(DOTENV)
    before = toml(project)
    result = cli("env", "import", "prod.env", "-e", "preview")
    assert result.code == 2
    assert "keyring" in result.err
    assert toml(project) == before


def test_import_from_stdin_and_bad_lines(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    result = cli("env", "import", "-", "-e", "preview", stdin=f"SECRET_KEY={CANARY}\n")
    assert result.code == 0, result
    bad = cli("env", "import", "-", "-e", "preview", stdin=f'A=1\nB="{CANARY}\n')
    assert bad.code == 2
    assert "stdin:2" in bad.err
    assert CANARY not in bad.output
    missing = cli("env", "import", "nope.env")
    assert missing.code == 2


def test_export_round_trip(cli: Cli, memory_keyring: MemoryKeyring, project: Path) -> None:
    (project / "prod.env").write_text(DOTENV)
    cli("env", "import", "prod.env", "-e", "preview")
    hidden = cli("env", "export", "-e", "preview", "-s", "web")
    assert hidden.code == 0, hidden
    assert "SECRET_KEY" not in hidden.out
    assert "omitted secrets SECRET_KEY, API_TOKEN" in hidden.err
    assert CANARY not in hidden.output
    revealed = cli("env", "export", "-e", "preview", "-s", "web", "--reveal")
    (project / "back.env").write_text(revealed.out)
    from shipit.envfile import parse_dotenv

    values = parse_dotenv(revealed.out).values
    assert values["SECRET_KEY"] == CANARY
    assert values["API_TOKEN"] == f"{CANARY}-token # with hash"
    assert values["MULTI"] == "first\nsecond"
    as_json = cli("env", "export", "-e", "preview", "-s", "web", "--reveal", "--format", "json")
    assert json.loads(as_json.out) == values


def test_export_needs_env_and_complete_secrets(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    assert cli("env", "export").code == 2
    result = cli("env", "export", "-e", "preview", "--reveal")
    assert result.code == 2
    assert "missing secrets for environment 'preview': SECRET_KEY, API_TOKEN" in result.err
    assert cli("env", "export", "-e", "preview", "--format", "yaml").code == 2


def test_export_local_omits_plain_secret_values(cli: Cli) -> None:
    result = cli("env", "export", "-e", "local")
    assert result.code == 0, result
    assert result.out.splitlines() == ["LOG_LEVEL=info"]
    assert "dev-plain-value" not in result.output


# --- diff / check -----------------------------------------------------------------------------


def test_diff_compares_secrets_by_fingerprint(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    cli("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin=CANARY)
    cli("env", "set", "SECRET_KEY", "-", "-e", "staging", stdin=f"{CANARY}-other")
    cli("env", "set", "API_TOKEN", "-", stdin=f"{CANARY}-shared")
    result = cli("env", "diff", "preview", "staging")
    assert result.code == 0, result
    rows = [line.split("\t") for line in result.out.splitlines()]
    assert rows[0] == ["SERVICE", "NAME", "KIND", "STATUS", "preview", "staging"]
    by_key = {(r[0], r[1]): r for r in rows[1:]}
    assert by_key[("web", "SECRET_KEY")][3] == "changed"
    assert by_key[("web", "API_TOKEN")][3] == "same"
    assert by_key[("web", "LOG_LEVEL")][2:] == ["env", "changed", "debug", "info"]
    fp_a, fp_b = by_key[("web", "SECRET_KEY")][4:]
    assert fp_a.startswith("fp ") and fp_b.startswith("fp ") and fp_a != fp_b
    assert CANARY not in result.output
    document = cli("--json", "env", "diff", "preview", "staging").json()
    assert isinstance(document, dict)
    assert document["differences"] == 4  # SECRET_KEY and LOG_LEVEL, in web and worker
    assert document["fingerprint_key"] == "keyring"


def test_diff_missing_and_plain_vs_secret(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    cli("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin="dev-plain-value")
    result = cli("--json", "env", "diff", "local", "preview", "-s", "web")
    document = result.json()
    assert isinstance(document, dict)
    rows = {row["name"]: row for row in document["rows"]}
    # the same value, plain in local and in the keyring for preview: same fingerprint
    assert rows["SECRET_KEY"]["status"] == "same"
    assert rows["API_TOKEN"]["status"] == "missing"
    assert rows["API_TOKEN"]["b"] == "(not set)"
    assert "dev-plain-value" not in result.output
    assert "dev-token-value" not in result.output


def test_diff_in_ci_uses_env_vars_and_warns(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("SECRET_KEY", CANARY)
    result = cli("env", "diff", "preview", "staging")
    assert result.code == 0, result
    assert "for this run only" in result.err
    assert memory_keyring.calls == 0
    assert CANARY not in result.output


def test_check(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    missing = cli("env", "check", "preview")
    assert missing.code == 2
    assert "SECRET_KEY, API_TOKEN" in missing.err
    monkeypatch.setenv("SECRET_KEY", CANARY)
    monkeypatch.setenv("API_TOKEN", CANARY)
    ok = cli("--json", "env", "check", "preview")
    assert ok.code == 0
    assert ok.json() == {
        "ok": True,
        "environment": "preview",
        "source": "env",
        "secrets": ["SECRET_KEY", "API_TOKEN"],
    }
    assert cli("env", "check", "local").out.strip() == "local: no secrets needed"


# --- push -------------------------------------------------------------------------------------


def test_push_resolves_before_opening_the_provider(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    from shipit.cli import context

    opened: list[str] = []
    monkeypatch.setattr(context, "provider_for", lambda env: opened.append(env.name))
    result = cli("env", "push", "preview")
    assert result.code == 2
    assert "SECRET_KEY, API_TOKEN" in result.err
    assert opened == []


def test_push_sets_env_on_the_provider(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    from tests.fakes.memory_provider import MemoryProvider

    from shipit.cli import context
    from shipit.sensitive import Secret

    provider = MemoryProvider()
    monkeypatch.setattr(context, "provider_for", lambda env: provider)
    cli("env", "set", "SECRET_KEY", "-", stdin=CANARY)
    cli("env", "set", "API_TOKEN", "-", "-e", "preview", stdin=f"{CANARY}-api")
    result = cli("env", "push", "preview", "--unset", "OLD_VAR")
    assert result.code == 0, result
    assert provider.env["web"]["SECRET_KEY"] == Secret(CANARY)
    assert provider.env["web"]["LOG_LEVEL"] == "debug"
    assert provider.env["worker"]["SECRET_KEY"] == Secret(CANARY)
    assert ("close", "") in provider.calls
    assert CANARY not in result.output


# --- login / logout ---------------------------------------------------------------------------


@pytest.fixture
def railway_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("SHIPIT_RAILWAY_API_URL", "http://railway.test/graphql/v2")
    with respx.mock(assert_all_called=False) as router:
        yield router


def test_login_checks_then_stores(
    cli: Cli, memory_keyring: MemoryKeyring, railway_api: respx.MockRouter
) -> None:
    route = railway_api.post("http://railway.test/graphql/v2").mock(
        return_value=httpx.Response(200, json={"data": {"me": {"id": "u1", "email": "a@b.c"}}})
    )
    result = cli("login", "railway", "--token-stdin", stdin=f"{CANARY}\n")
    assert result.code == 0, result
    assert "logged in to railway as a@b.c" in result.out
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {CANARY}"
    assert "me" in json.loads(request.content)["query"]
    assert memory_keyring.entries[("shipit:token:railway", "token")] == CANARY
    assert CANARY not in result.output
    out = cli("--json", "logout", "railway")
    assert out.json() == {"ok": True, "removed": ["railway"]}
    assert memory_keyring.entries == {}
    assert cli("logout").code == 0


def test_login_rejected_token_is_not_stored(
    cli: Cli, memory_keyring: MemoryKeyring, railway_api: respx.MockRouter
) -> None:
    railway_api.post("http://railway.test/graphql/v2").mock(
        return_value=httpx.Response(200, json={"errors": [{"message": "Not Authorized"}]})
    )
    result = cli("login", "railway", "--token-stdin", stdin=CANARY)
    assert result.code == 3
    assert "railway refused the token" in result.err
    assert memory_keyring.entries == {}
    assert CANARY not in result.output


def test_login_workspace_token_falls_back_to_projects(
    cli: Cli, memory_keyring: MemoryKeyring, railway_api: respx.MockRouter
) -> None:
    railway_api.post("http://railway.test/graphql/v2").mock(
        side_effect=[
            httpx.Response(200, json={"errors": [{"message": "Not Authorized"}]}),
            httpx.Response(200, json={"data": {"projects": {"edges": []}}}),
        ]
    )
    result = cli("login", "railway", "--token-stdin", stdin=CANARY)
    assert result.code == 0, result
    assert "workspace token" in result.out


def test_login_http_401(
    cli: Cli, memory_keyring: MemoryKeyring, railway_api: respx.MockRouter
) -> None:
    railway_api.post("http://railway.test/graphql/v2").mock(return_value=httpx.Response(401))
    assert cli("login", "railway", "--token-stdin", stdin=CANARY).code == 3
    assert memory_keyring.entries == {}


def test_login_render_and_fly(
    cli: Cli, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPIT_RENDER_API_URL", "http://render.test/v1")
    monkeypatch.setenv("SHIPIT_FLY_MACHINES_URL", "http://fly.test/v1")
    with respx.mock() as router:
        render = router.get("http://render.test/v1/users").mock(
            return_value=httpx.Response(200, json={"email": "r@x.io", "name": "R"})
        )
        fly = router.get("http://fly.test/v1/tokens/current").mock(
            return_value=httpx.Response(200, json={"tokens": [{"user": "f@x.io"}]})
        )
        assert cli("login", "render", "--token-stdin", stdin=CANARY).code == 0
        assert render.calls.last.request.headers["Authorization"] == f"Bearer {CANARY}"
        macaroon = f"fm2_{CANARY}"  # a fake in the shape of a Fly macaroon
        assert cli("login", "fly", "--token-stdin", stdin=macaroon).code == 0
        assert fly.calls.last.request.headers["Authorization"] == "FlyV1 " + macaroon
    assert set(memory_keyring.entries) == {
        ("shipit:token:render", "token"),
        ("shipit:token:fly", "token"),
    }


def test_login_without_input_or_keyring(cli: Cli, railway_api: respx.MockRouter) -> None:
    no_input = cli("login", "railway")
    assert no_input.code == 2
    assert "--token-stdin" in no_input.err
    no_keyring = cli("login", "railway", "--token-stdin", stdin=CANARY)
    assert no_keyring.code == 2
    assert "keyring" in no_keyring.err
    assert not railway_api.calls  # the provider is not called when the token cannot be kept
    assert cli("login", "local").code == 2
    assert cli("login", "heroku").code == 2


def test_login_warns_when_an_env_var_wins(
    cli: Cli,
    memory_keyring: MemoryKeyring,
    railway_api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    railway_api.post("http://railway.test/graphql/v2").mock(
        return_value=httpx.Response(200, json={"data": {"me": {"id": "u1"}}})
    )
    monkeypatch.setenv("RAILWAY_API_TOKEN", f"{CANARY}-env")
    result = cli("login", "railway", "--token-stdin", stdin=CANARY)
    assert result.code == 0
    assert "RAILWAY_API_TOKEN is set and is used instead" in result.err


def test_graphql_documents_match_railways_schema(shared_dir: Path) -> None:
    graphql = pytest.importorskip("graphql")
    from shipit.tokencheck import ME_QUERY, PROJECTS_QUERY

    introspection = json.loads((shared_dir / "providers/railway/schema.json").read_text())
    schema = graphql.build_client_schema(introspection["data"])
    team = schema.type_map.get("Team")
    if team is not None and "id" in getattr(team, "fields", {}):
        team.fields["id"].deprecation_reason = None  # see API.md, "Validation"
    for document in (ME_QUERY, PROJECTS_QUERY):
        assert graphql.validate(schema, graphql.parse(document)) == [], document
