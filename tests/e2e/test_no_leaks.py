"""No secret value reaches stdout, stderr or a file: every env/login command, every output mode.

Distinctive values are planted in the keyring, in CI variables, on stdin, in .env files and as a
provider token; then each command runs in human, ``--json`` and ``--verbose`` form, including the
failing paths. Only ``--reveal`` may print a value, and only on stdout. Finally no file under the
project or HOME may contain one (the keyring daemon keeps its files elsewhere, encrypted).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.e2e.keyring_session import KeyringSession
from tests.fakes.server import FakeRequest, FakeResponse, FakeServer
from tests.helpers import Run, run_shipit

pytestmark = [pytest.mark.e2e, pytest.mark.keyring]

CANARY = "leak-canary-7f3a9c"
PREVIEW = f"{CANARY}-preview"
STAGING = f"{CANARY}-staging"
PROJECT_WIDE = f"{CANARY}-db"
TOKEN = f"{CANARY}-token"
CERT = f"-----BEGIN-----\n{CANARY}-cert-line\n-----END-----"

CONFIG = """\
[project]
name = "leakcheck"

[services.web]
start = "python3 -c 'pass'"
env = { LOG_LEVEL = "info" }
secrets = ["SECRET_KEY", "DB_PASSWORD", "CERT"]

[environments.local]
env = { SECRET_KEY = "dev-only-plain" }

[environments.preview]

[environments.staging]
provider = "railway"

[environments.staging.railway]
project = "leakcheck"
"""

DOTENV = f"""\
export SECRET_KEY="{PREVIEW}"
CERT="{CERT}"
FEATURE=on
"""

GOOD = "../inputs/good.env"
BROKEN = "../inputs/broken.env"
BROKEN_DOTENV = f'GOOD=1\nSECRET_KEY="{CANARY}-unterminated\n'


def railway_app(request: FakeRequest) -> FakeResponse:
    """Accepts TOKEN; otherwise refuses, echoing the token back as some APIs do."""
    authorization = request.headers.get("authorization", "")
    if authorization == f"Bearer {TOKEN}":
        return FakeResponse.json({"data": {"me": {"id": "u1", "email": "dev@example.com"}}})
    return FakeResponse.json(
        {"data": None, "errors": [{"message": f"Not Authorized ({authorization})"}]}
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "shipit.toml").write_text(CONFIG)
    inputs = tmp_path / "inputs"  # outside the project: these files hold values on purpose
    inputs.mkdir()
    (inputs / "good.env").write_text(DOTENV)
    (inputs / "broken.env").write_text(BROKEN_DOTENV)
    return root


def scan_files(*roots: Path) -> list[str]:
    """Files under ``roots`` whose bytes contain the canary."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if CANARY.encode() in data:
                    found.append(str(path))
    return found


def test_no_command_leaks_a_secret(session: KeyringSession, project: Path) -> None:
    runs: list[Run] = []
    revealing: list[Run] = []

    def shipit(*args: str, stdin: str | None = None, reveal: bool = False, **env: str) -> Run:
        result = run_shipit(*args, cwd=project, env=session.env(**env), input=stdin)
        (revealing if reveal else runs).append(result)
        return result

    def modes(*args: str, **env: str) -> list[tuple[tuple[str, ...], dict[str, str]]]:
        return [(args, env), (("--json", *args), env), (("--verbose", *args), env)]

    def two(*args: str, **env: str) -> list[tuple[tuple[str, ...], dict[str, str]]]:
        return [(args, env), (("--json", "--verbose", *args), env)]

    def in_parallel(commands: list[tuple[tuple[str, ...], dict[str, str]]]) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda command: shipit(*command[0], **command[1]), commands))

    # planting, through every way a value comes in
    assert shipit("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin=PREVIEW).code == 0
    assert shipit("--json", "env", "set", "DB_PASSWORD", "-", stdin=f"{PROJECT_WIDE}\n").code == 0
    argv = ("env", "set", "SECRET_KEY", STAGING, "-e", "staging", "--allow-argv")
    assert shipit("--verbose", *argv).code == 0
    assert shipit("env", "import", GOOD, "-e", "preview").code == 0
    assert shipit("--json", "--verbose", "env", "import", GOOD, "-e", "staging").code == 0

    # refused or failing paths, with values at hand
    assert shipit("env", "set", "SECRET_KEY", f"{CANARY}-argv", "-e", "preview").code == 2
    assert shipit("--json", "env", "set", "SECRET_KEY", f"{CANARY}-argv").code == 2
    assert shipit("env", "import", BROKEN, "-e", "preview").code == 2
    assert shipit("--json", "--verbose", "env", "import", BROKEN).code == 2
    assert shipit("env", "export", "-e", "local", "--reveal").code == 2  # CERT has no value

    # reading, in every mode, and CI (values from variables, no keyring)
    ci = {
        "CI": "true",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "SECRET_KEY": f"{CANARY}-ci",
        "DB_PASSWORD": f"{CANARY}-ci-db",
        "CERT": f"{CANARY}-ci-cert",
    }
    missing = {k: v for k, v in ci.items() if k != "CERT"}
    reads = [
        *modes("env", "list", "-e", "preview"),
        *two("env", "list", "-e", "local"),
        *two("env", "list"),
        *two("env", "export", "-e", "preview"),
        *two("env", "export", "-e", "local", "--format", "json"),
        *modes("env", "diff", "preview", "staging"),
        *two("env", "diff", "local", "preview", "--all"),
        *two("env", "list", "-e", "staging", **ci),
        *two("env", "diff", "preview", "staging", **ci),
        *two("env", "export", "-e", "preview", **ci),
        *modes("env", "check", "preview", **missing),
        *two("deploy", "preview", **missing),
    ]
    in_parallel(reads)

    # only --reveal prints values, and only on stdout
    shipit("env", "list", "-e", "preview", "--reveal", reveal=True)
    shipit("--json", "env", "list", "-e", "staging", "--reveal", reveal=True)
    exported = shipit("env", "export", "-e", "preview", "--reveal", reveal=True)

    # provider tokens
    with FakeServer(railway_app) as server:
        url = {"SHIPIT_RAILWAY_API_URL": f"{server.url}/graphql/v2"}
        for mode in (("--json",), ("--verbose",)):
            wrong = f"{CANARY}-wrong-token\n"
            assert shipit(*mode, "login", "railway", "--token-stdin", stdin=wrong, **url).code == 3
            assert shipit(*mode, "login", "railway", "--token-stdin", stdin=TOKEN, **url).code == 0
        with_env = {**url, "RAILWAY_API_TOKEN": f"{CANARY}-env-token"}
        shipit("--verbose", "login", "railway", "--token-stdin", stdin=TOKEN, **with_env)
    in_parallel(two("logout", "railway"))

    # removal
    assert shipit("--verbose", "env", "unset", "DB_PASSWORD").code == 0
    assert shipit("--json", "env", "unset", "SECRET_KEY", "-e", "staging").code == 0
    assert shipit("env", "unset", "SECRET_KEY", "-e", "staging").code == 2

    leaks = [str(r) for r in runs if CANARY in r.stdout or CANARY in r.stderr]
    assert not leaks, "\n\n".join(leaks)
    assert not [str(r) for r in revealing if CANARY in r.stderr]
    assert exported.code == 0, exported
    assert PREVIEW in exported.stdout
    assert not scan_files(project, Path(os.environ["HOME"]))
    assert len(runs) > 40


def test_deploy_and_runtime_commands_leak_nothing(session: KeyringSession, tmp_path: Path) -> None:
    """A real local deploy with a keyring secret, then every runtime command in every mode."""
    import shutil

    import tomlkit
    from tests.helpers import REPO_ROOT, free_port_block

    root = tmp_path / "example"
    shutil.copytree(REPO_ROOT / "examples" / "app", root / "examples" / "app")
    document = tomlkit.parse((REPO_ROOT / "shipit.example.toml").read_text())
    for name in ("local", "preview"):
        document["environments"][name]["local"]["port"] = free_port_block(2)  # type: ignore[index]
    (root / "shipit.toml").write_text(tomlkit.dumps(document))
    secret = f"{CANARY}-deployed"
    runs: list[Run] = []

    def shipit(*args: str, stdin: str | None = None, **env: str) -> Run:
        result = run_shipit(*args, cwd=root, env=session.env(**env), input=stdin)
        runs.append(result)
        return result

    try:
        assert shipit("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin=secret).code == 0
        assert shipit("--verbose", "deploy", "local").code == 0
        assert shipit("--json", "--verbose", "deploy", "preview").code == 0
        for mode in ((), ("--json",), ("--verbose",)):
            assert shipit(*mode, "status", "preview").code == 0
            assert shipit(*mode, "logs", "preview", "-n", "50").code == 0
            assert shipit(*mode, "releases", "preview").code == 0
            assert shipit(*mode, "plan", "preview").code == 0
            assert shipit(*mode, "env", "push", "preview").code == 0
        ci = {"CI": "true", "SECRET_KEY": f"{CANARY}-ci-deploy"}
        app = root / "examples" / "app" / "app.py"
        app.write_text(app.read_text() + "\n# changed\n")
        assert shipit("deploy", "local").code == 0
        assert shipit("--json", "promote", "--from", "local", "--to", "preview", **ci).code == 0
        assert shipit("--verbose", "rollback", "preview", **ci).code == 0
        assert shipit("--json", "plan", "preview", **ci).code == 0
        # a failing deploy shows the log tail: still no value
        config = root / "shipit.toml"
        document = tomlkit.parse(config.read_text())
        document["environments"]["preview"]["services"] = {  # type: ignore[index]
            "web": {"health_path": "/never", "health_timeout": 2}
        }
        config.write_text(tomlkit.dumps(document))
        assert shipit("--verbose", "deploy", "preview", **ci).code == 5
        assert shipit("--json", "deploy", "preview", **ci).code == 5
    finally:
        run_shipit("down", "local", cwd=root)
        run_shipit("down", "preview", cwd=root)
    leaks = [str(r) for r in runs if CANARY in r.stdout or CANARY in r.stderr]
    assert not leaks, "\n\n".join(leaks)
    assert not scan_files(root, Path(os.environ["HOME"]))
