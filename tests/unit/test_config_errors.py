"""Bad configs fail with `FILE:LINE: key.path: message`, pointing at the line to fix.

Each case marks the line the error must name with a `# <-` comment; the test finds that line
and checks the whole message, so the location and the wording are both pinned.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from shipit.config import load_config
from shipit.errors import ConfigError, ExitCode

MARK = "# <-"

SERVICE = """\
[project]
name = "demo"

[services.web]
start = "python3 app.py"
"""


def toml(text: str) -> str:
    """A case's whole file, written indented in the source."""
    return dedent(text)


def svc(extra: str) -> str:
    """A valid minimal project followed by ``extra`` (indented in the source)."""
    return SERVICE + dedent(extra)


def marked_line(text: str) -> int:
    """The 1-based number of the one line carrying the marker."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if MARK in line]
    assert len(lines) == 1, "a case must mark exactly one line"
    return lines[0]


def load_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> ConfigError:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shipit.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.exit_code == ExitCode.USAGE
    return caught.value


CASES: list[tuple[str, str, str]] = [
    (
        "misspelt top-level key",
        toml(
            """\
            projcet = "demo"  # <-
            [project]
            name = "demo"
            [services.web]
            start = "x"
            """
        ),
        "projcet: unknown key 'projcet'",
    ),
    (
        "misspelt key in a service",
        svc(
            """\
            helth_path = "/up"  # <-
            """
        ),
        "services.web.helth_path: unknown key 'helth_path'",
    ),
    (
        "misspelt key in an environment",
        svc(
            """\

            [environments.staging]
            provider = "local"
            enviroment = "x"  # <-
            """
        ),
        "environments.staging.enviroment: unknown key 'enviroment'",
    ),
    (
        "misspelt key in a provider block",
        svc(
            """\

            [environments.production]
            provider = "fly"

            [environments.production.fly]
            app = "demo-web"
            regoin = "ams"  # <-
            """
        ),
        "environments.production.fly.regoin: unknown key 'regoin'",
    ),
    (
        "misspelt key in a per-service override",
        svc(
            """\

            [environments.production]
            provider = "local"

            [environments.production.services.web]
            replicas = 2
            replica = 3  # <-
            """
        ),
        "environments.production.services.web.replica: unknown key 'replica'",
    ),
    (
        "misspelt key inside an inline table",
        toml(
            """\
            [project]
            name = "demo"

            [services.web]
            image = "ghcr.io/demo/web"
            build = { dockerfile = "Dockerfile", contxt = "." }  # <-
            """
        ),
        "services.web.build.contxt: unknown key 'contxt'",
    ),
    (
        "wrong type",
        svc(
            """\
            port = "eighty"  # <-
            """
        ),
        "services.web.port: Input should be a valid integer, unable to parse string as an integer",
    ),
    (
        "env value of a type no process can see",
        svc(
            """\
            env = { DEBUG = "1", HOSTS = ["a", "b"] }  # <-
            """
        ),
        "services.web.env.HOSTS: must be a string, number or boolean, not an array",
    ),
    (
        "invalid env var name in a service's inline env",
        svc(
            """\
            env = { OK = "1", "BAD-NAME" = "2" }  # <-
            """
        ),
        "services.web.env.BAD-NAME: 'BAD-NAME' is not a valid environment variable name",
    ),
    (
        "invalid env var name in an environment's env table",
        svc(
            """\

            [environments.local.env]
            FINE = "1"
            "1ST" = "2"  # <-
            """
        ),
        "environments.local.env.1ST: '1ST' is not a valid environment variable name",
    ),
    (
        "missing required key",
        svc(
            """\

            [environments.production]
            provider = "fly"

            [environments.production.fly]  # <-
            org = "personal"
            """
        ),
        "environments.production.fly: required key 'app' is missing",
    ),
    (
        "missing required key in [project]",
        toml(
            """\
            [project]  # <-
            pipeline = []

            [services.web]
            start = "x"
            """
        ),
        "project: required key 'name' is missing",
    ),
    (
        "service that cannot run",
        toml(
            """\
            [project]
            name = "demo"

            [services.web]  # <-
            port = 8000
            """
        ),
        "services.web: set `start`, a `build` table or a prebuilt `image`",
    ),
    (
        "build table without an image to push to",
        svc(
            """\

            [services.web.build]  # <-
            dockerfile = "Dockerfile"
            """
        ),
        "services.web.build: a service with a build table needs `image`, the repository to push to",
    ),
    (
        "unknown service in an override",
        svc(
            """\

            [environments.production]
            provider = "local"

            [environments.production.services.api]  # <-
            replicas = 2
            """
        ),
        "environments.production.services.api: no service 'api' (defined: web)",
    ),
    (
        "pipeline naming an unknown environment",
        toml(
            """\
            [project]
            name = "demo"
            pipeline = ["local", "prod"]  # <-

            [services.web]
            start = "x"

            [environments.local]
            """
        ),
        "project.pipeline.1: no environment 'prod' (defined: local)",
    ),
    (
        "pipeline listing an environment twice",
        toml(
            """\
            [project]
            name = "demo"
            pipeline = ["local", "local"]  # <-

            [services.web]
            start = "x"

            [environments.local]
            """
        ),
        "project.pipeline: an environment is listed twice",
    ),
    (
        "railway environment with a fly block",
        svc(
            """\

            [environments.staging]
            provider = "railway"

            [environments.staging.railway]
            project = "demo"

            [environments.staging.fly]  # <-
            app = "demo-web"
            """
        ),
        "environments.staging.fly: a [fly] block, but provider is 'railway'",
    ),
    (
        "cloud provider without its block",
        svc(
            """\

            [environments.staging]
            provider = "render"  # <-
            """
        ),
        "environments.staging.provider: provider 'render' needs a [render] block",
    ),
    (
        "health path without a leading slash",
        svc(
            """\
            health_path = "health"  # <-
            """
        ),
        "services.web.health_path: must start with '/'",
    ),
    (
        "health path without a leading slash in an override",
        svc(
            """\

            [environments.local.services.web]
            health_path = "up"  # <-
            """
        ),
        "environments.local.services.web.health_path: must start with '/'",
    ),
    (
        "duplicate secret",
        svc(
            """\
            secrets = ["SECRET_KEY", "API_TOKEN", "SECRET_KEY"]  # <-
            """
        ),
        "services.web.secrets.2: 'SECRET_KEY' is listed twice",
    ),
    (
        "secret that also has a plain value in the service",
        svc(
            """\
            secrets = ["SECRET_KEY"]
            env = { SECRET_KEY = "oops" }  # <-
            """
        ),
        "services.web.env.SECRET_KEY: 'SECRET_KEY' is listed in `secrets`, "
        "so it cannot have a plain value here",
    ),
    (
        "local port below the unprivileged range",
        svc(
            """\

            [environments.local.local]
            host = "127.0.0.1"
            port = 80  # <-
            """
        ),
        "environments.local.local.port: Input should be greater than or equal to 1024",
    ),
    (
        "service port above 65535",
        svc(
            """\
            port = 70000  # <-
            """
        ),
        "services.web.port: Input should be less than or equal to 65535",
    ),
    (
        "database that is not offered",
        svc(
            """\
            database = "mysql"  # <-
            """
        ),
        "services.web.database: Input should be 'postgres' or 'sqlite'",
    ),
    (
        "invalid service name",
        toml(
            """\
            [project]
            name = "demo"

            [services.Web]  # <-
            start = "x"
            """
        ),
        "services.Web: 'Web' is not a valid service name (a-z, 0-9, - and _)",
    ),
    (
        "invalid fly app name",
        svc(
            """\

            [environments.production]
            provider = "fly"
            fly = { app = "Demo Web" }  # <-
            """
        ),
        "environments.production.fly.app: 'Demo Web' is not a valid name (a-z, 0-9, - and _)",
    ),
    (
        "key after a table header belongs to that table",
        svc(
            """\

            [environments.local]
            provider = "local"
            pipeline = ["local"]  # <-
            """
        ),
        "environments.local.pipeline: unknown key 'pipeline'",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_names_file_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    error = load_error(tmp_path, monkeypatch, text)
    assert str(error) == f"shipit.toml:{marked_line(text)}: {expected}"
    assert error.line == marked_line(text)
    assert error.file == "shipit.toml"


def test_toml_syntax_error_has_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SERVICE + 'env = { A = "1" B = "2" }\n'
    error = load_error(tmp_path, monkeypatch, text)
    assert str(error) == "shipit.toml:6:17: TOML syntax error: Unclosed inline table"
    assert (error.line, error.column) == (6, 17)


def test_toml_duplicate_key_is_a_syntax_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SERVICE + "port = 8000\nport = 8001\n"
    error = load_error(tmp_path, monkeypatch, text)
    assert str(error) == "shipit.toml:7:12: TOML syntax error: Cannot overwrite a value"


def test_toml_error_at_end_of_document_names_the_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SERVICE + 'secrets = ["A",\n'
    error = load_error(tmp_path, monkeypatch, text)
    assert error.line == 6
    assert str(error).startswith("shipit.toml:6: TOML syntax error: ")
    assert "end of document" not in str(error)


def test_missing_services_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    error = load_error(tmp_path, monkeypatch, '[project]\nname = "demo"\n')
    assert str(error) == "shipit.toml: required key 'services' is missing"


def test_error_path_is_shown_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "deploy").mkdir()
    config = tmp_path / "deploy" / "shipit.toml"
    config.write_text(SERVICE + "prot = 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("deploy/shipit.toml"))
    assert str(caught.value) == "deploy/shipit.toml:6: services.web.prot: unknown key 'prot'"


def test_comments_and_multiline_strings_do_not_shift_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = dedent(
        '''\
        # a comment
        [project]  # trailing comment
        name = "demo"

        [services.web]
        start = """
        port = 1
        """
        build_command = 'x'
        prot = 1  # <-
        '''
    )
    error = load_error(tmp_path, monkeypatch, text)
    assert str(error) == f"shipit.toml:{marked_line(text)}: services.web.prot: unknown key 'prot'"
