"""`shipit init`: look at the project in the working directory and write a commented shipit.toml.

Detection reads, never runs: a Procfile's ``web:`` line, package.json's ``start`` script or a
Dockerfile's ``CMD`` give the start command; a Dockerfile's ``EXPOSE`` the port; Postgres drivers
in requirements.txt, pyproject.toml or package.json ask for ``database = "postgres"``; a
health route written in the source (``"/health"``, ``"/healthz"``...) the health path. The
file is validated before it is written (atomically), so what ``init`` writes always loads.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from shipit.cli import context, options
from shipit.errors import UsageError

CONFIG_NAME = "shipit.toml"
GITIGNORE_LINES = (".shipit/", ".env")
POSTGRES_PY = frozenset(
    {"psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "asyncpg", "pg8000"}
)
POSTGRES_JS = frozenset({"pg", "postgres", "pg-promise", "@neondatabase/serverless"})
HEALTH_PATHS = ("/health", "/healthz", "/healthcheck", "/_health", "/up", "/ping")
SOURCE_SUFFIXES = frozenset({".py", ".js", ".mjs", ".cjs", ".ts", ".go", ".rb"})
SKIP_DIRS = frozenset({"node_modules", "venv", "__pycache__", "dist", "build", "site-packages"})
PY_ENTRY_FILES = ("app.py", "main.py", "server.py")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Detected:
    """What init found in the project folder; file fields hold names relative to it."""

    name: str
    language: str | None
    dockerfile: str | None
    procfile: str | None
    requirements: str | None
    pyproject: str | None
    package_json: str | None
    start: str | None
    start_from: str | None
    build_command: str | None
    port: int | None
    health_path: str | None
    database: str | None
    dotenv: bool


# detection ---------------------------------------------------------------------------------


def detect(folder: Path, name: str | None = None) -> Detected:
    """Inspect ``folder`` (files only, nothing is run)."""
    has = {f: (folder / f).is_file() for f in _KNOWN_FILES}
    package = _read_json(folder / "package.json") if has["package.json"] else {}
    language = (
        "python"
        if has["requirements.txt"] or has["pyproject.toml"] or has["Pipfile"]
        else ("node" if has["package.json"] else None)
    )
    start, start_from = _start_command(folder, has, package, language)
    dockerfile_text = _read(folder / "Dockerfile") if has["Dockerfile"] else ""
    return Detected(
        name=name or project_name(folder.name),
        language=language,
        dockerfile="Dockerfile" if has["Dockerfile"] else None,
        procfile="Procfile" if has["Procfile"] else None,
        requirements="requirements.txt" if has["requirements.txt"] else None,
        pyproject="pyproject.toml" if has["pyproject.toml"] else None,
        package_json="package.json" if has["package.json"] else None,
        start=start,
        start_from=start_from,
        build_command=_build_command(has, package),
        port=dockerfile_port(dockerfile_text),
        health_path=_health_path(folder),
        database="postgres" if _uses_postgres(folder, has, package) else None,
        dotenv=(folder / ".env").is_file(),
    )


_KNOWN_FILES = (
    "Dockerfile",
    "Procfile",
    "requirements.txt",
    "pyproject.toml",
    "Pipfile",
    "package.json",
    "package-lock.json",
    *PY_ENTRY_FILES,
)


def project_name(text: str) -> str:
    """A valid project name made from a folder name (``My_App 2`` -> ``my-app-2``).

    Hyphens rather than underscores, since some providers (Fly) reject underscores.
    """
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return slug or "app"


def procfile_web(text: str) -> str | None:
    """The command of a Procfile's ``web:`` process."""
    for line in text.splitlines():
        kind, sep, command = line.partition(":")
        if sep and kind.strip() == "web" and command.strip():
            return command.strip()
    return None


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\s*\n", " ", text)
    found: list[tuple[str, str]] = []
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        word, _, rest = stripped.partition(" ")
        found.append((word.upper(), rest.strip()))
    return found


def dockerfile_cmd(text: str) -> str | None:
    """The last ``CMD`` of a Dockerfile as a shell command line."""
    commands = [rest for word, rest in _dockerfile_instructions(text) if word == "CMD" and rest]
    if not commands:
        return None
    last = commands[-1]
    if last.startswith("["):
        try:
            parts = json.loads(last)
        except ValueError:
            return last
        if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
            return shlex.join(parts)
    return last


def dockerfile_port(text: str) -> int | None:
    """The first port the Dockerfile's last ``EXPOSE`` names."""
    exposed = [rest for word, rest in _dockerfile_instructions(text) if word == "EXPOSE"]
    for rest in reversed(exposed):
        for token in rest.split():
            number = token.split("/", 1)[0]
            if number.isdigit() and 1 <= int(number) <= 65535:
                return int(number)
    return None


def _start_command(
    folder: Path, has: dict[str, bool], package: dict[str, Any], language: str | None
) -> tuple[str | None, str | None]:
    if has["Procfile"]:
        web = procfile_web(_read(folder / "Procfile"))
        if web:
            return web, "Procfile"
    scripts = package.get("scripts")
    if isinstance(scripts, dict) and isinstance(scripts.get("start"), str):
        return "npm start", "package.json"
    if has["Dockerfile"]:
        cmd = dockerfile_cmd(_read(folder / "Dockerfile"))
        if cmd:
            return cmd, "Dockerfile"
    for entry in PY_ENTRY_FILES:
        if has[entry]:
            return f"python3 {entry}", entry
    return None, None


def _build_command(has: dict[str, bool], package: dict[str, Any]) -> str | None:
    if has["package.json"] and package.get("dependencies"):
        return "npm ci" if has["package-lock.json"] else "npm install"
    return None


def requirement_names(text: str) -> set[str]:
    """Distribution names listed in a requirements file (lowercase, options skipped)."""
    names: set[str] = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if match:
            names.add(match.group(0).lower().replace("_", "-"))
    return names


def _pyproject_names(path: Path) -> set[str]:
    import tomllib

    try:
        data = tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError:
        return set()
    project = data.get("project", {})
    listed = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        listed.extend(extra)
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
    listed.extend(poetry)
    return requirement_names("\n".join(str(item) for item in listed))


def _uses_postgres(folder: Path, has: dict[str, bool], package: dict[str, Any]) -> bool:
    names: set[str] = set()
    if has["requirements.txt"]:
        names |= requirement_names(_read(folder / "requirements.txt"))
    if has["pyproject.toml"]:
        names |= _pyproject_names(folder / "pyproject.toml")
    if names & POSTGRES_PY:
        return True
    js: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        section = package.get(key)
        if isinstance(section, dict):
            js |= set(section)
    return bool(js & POSTGRES_JS)


def _health_path(folder: Path, limit: int = 300) -> str | None:
    """The first of HEALTH_PATHS written as a string literal in the project's source."""
    choices = "|".join(re.escape(p) for p in HEALTH_PATHS)
    pattern = re.compile(rf"""["']({choices})["']""")
    seen: set[str] = set()
    for index, path in enumerate(_source_files(folder)):
        if index >= limit:
            break
        seen.update(pattern.findall(_read(path, 200_000)))
    return next((p for p in HEALTH_PATHS if p in seen), None)


def _source_files(folder: Path, depth: int = 3) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        level = len(here.relative_to(folder).parts)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS and level < depth
        )
        found.extend(here / f for f in sorted(files) if Path(f).suffix in SOURCE_SUFFIXES)
    return found


def _read(path: Path, limit: int = 1_000_000) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(limit)
    except OSError:
        return ""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_read(path))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# rendering ---------------------------------------------------------------------------------


def _q(value: str) -> str:
    """``value`` as a TOML string."""
    import tomlkit

    return tomlkit.string(value).as_string()


def render(found: Detected, *, source: str = ".", image: str | None = None) -> str:
    """The text of a commented shipit.toml for what was detected."""
    start = found.start or _guess_start(found.language)
    if found.start_from == "Dockerfile":
        start_note = (
            "# From the Dockerfile's CMD: on this machine it must listen on the PORT variable."
        )
    elif found.start_from:
        start_note = f"# From {found.start_from}. It must listen on the PORT variable."
    else:
        start_note = (
            "# Not detected: set the command that starts your app (it must listen on PORT)."
        )
    build_command = (
        f"build_command = {_q(found.build_command)}"
        if found.build_command
        else "# build_command = "
        + _q("python3 -m pip install -r requirements.txt" if found.requirements else "make build")
    )
    health = found.health_path or "/"
    health_note = (
        "# Found in the source."
        if found.health_path
        else '# No health route found in the source; "/" must answer 2xx, or add one.'
    )
    database = (
        'database = "postgres"  # a Postgres driver is a dependency'
        if found.database
        else '# database = "postgres"'
    )
    port = found.port or 8000
    image_line = f"image = {_q(image)}" if image else '# image = "ghcr.io/OWNER/' + found.name + '"'
    build_block = _build_block(found, source, live=bool(image and found.dockerfile))
    return f"""\
# shipit.toml: how to deploy {found.name}. Written by `shipit init`; edit freely.
# Every key is documented in shipit.example.toml in the shipit repository.
# Secret values never go here: list their names under `secrets` and store the values with
# `shipit env set NAME` (or, in CI, an environment variable of the same name).

[project]
name = {_q(found.name)}
# Promotion order for `shipit promote`; add environments here as you add them below.
pipeline = ["local"]

[services.web]
# The service's code, relative to this file.
source = {_q(source)}
{start_note}
start = {_q(start)}
# Run once when a release is built.
{build_command}
# The port the process listens on (given to it as PORT).
port = {port}
# A deploy goes live only after this path answers 2xx within health_timeout seconds.
{health_note}
health_path = {_q(health)}
health_timeout = 60
# Plain environment variables (secrets go in `secrets`, by name only).
env = {{}}
secrets = []
# "postgres" or "sqlite": provision a database and set DATABASE_URL (SQLite on `local`).
{database}
# The image repository to push to (with a build table), or a prebuilt image to deploy.
{image_line}
{build_block}
# This machine: runs `start` in the background, logs and state in .shipit/.
[environments.local]
provider = "local"

[environments.local.local]
port = 8100

# A cloud environment: uncomment one, add it to `pipeline`, then `shipit login PROVIDER`
# and `shipit deploy NAME`.
#
# Railway:
# [environments.staging]
# provider = "railway"
# [environments.staging.railway]
# project = {_q(found.name)}
#
# Render:
# [environments.staging]
# provider = "render"
# [environments.staging.render]
# owner = "tea-..."            # your Render workspace id
#
# Fly.io:
# [environments.production]
# provider = "fly"
# [environments.production.fly]
# app = {_q(found.name.replace("_", "-") + "-web")}
# region = "iad"
"""


def _build_block(found: Detected, source: str, *, live: bool) -> str:
    if not found.dockerfile:
        return ""
    lines = [
        "",
        "# Build the Dockerfile's image for cloud providers (needs `image`); paths are",
        "# relative to this file.",
        "[services.web.build]",
        f"dockerfile = {_q((Path(source) / found.dockerfile).as_posix())}",
        f"context = {_q(source)}",
    ]
    if live:
        return "\n".join(lines) + "\n"
    return "\n".join(lines[:3] + [f"# {line}" for line in lines[3:]]) + "\n"


def _guess_start(language: str | None) -> str:
    return {"python": "python3 app.py", "node": "npm start"}.get(language or "", "./start")


# files -------------------------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename, keeping an existing mode."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        Path(temp).chmod(mode)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def update_gitignore(folder: Path, wanted: tuple[str, ...] = GITIGNORE_LINES) -> list[str]:
    """Add the ``wanted`` lines that .gitignore lacks; returns the ones added."""
    path = folder / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip().strip("/") for line in text.splitlines()}
    missing = [line for line in wanted if line.strip("/") not in present]
    if missing:
        if text and not text.endswith("\n"):
            text += "\n"
        write_atomic(path, text + "".join(f"{line}\n" for line in missing))
    return missing


# the command -------------------------------------------------------------------------------


def init(
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing shipit.toml.")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Project name (default: the folder's name).")
    ] = None,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="Image repository to push to (with a Dockerfile) or prebuilt image to deploy.",
        ),
    ] = None,
) -> None:
    """Write a commented shipit.toml for the project in the working directory."""
    from shipit.config import parse_config
    from shipit.config.loader import display_path

    if name is not None and not _NAME.match(name):
        raise UsageError(
            f"--name {name!r} is not a valid project name",
            hint="use lowercase letters, digits, - and _, starting with a letter or digit",
        )
    folder = Path.cwd()
    target = (options.current.config or Path(CONFIG_NAME)).absolute()
    shown = display_path(target)
    if target.exists() and not force:
        raise UsageError(
            f"{shown} already exists",
            hint="edit it, or run `shipit init --force` to replace it",
        )
    if not target.parent.is_dir():
        raise UsageError(f"folder {display_path(target.parent)} does not exist")
    found = detect(folder, name)
    source = Path(os.path.relpath(folder, target.parent)).as_posix()
    text = render(found, source=source, image=image)
    parse_config(text, target)  # what init writes must load
    try:
        write_atomic(target, text)
        added = update_gitignore(folder)
    except OSError as exc:
        raise UsageError(
            f"cannot write {display_path(Path(exc.filename or target))}: {exc.strerror}"
        ) from None
    _report(found, shown, target, added, image)


def _report(found: Detected, shown: str, target: Path, added: list[str], image: str | None) -> None:
    output = context.output
    if output.json_mode:
        output.emit_json(
            {"config": str(target), "detected": asdict(found), "gitignore_added": added}
        )
        return
    output.echo(f"wrote {shown}")
    files = [
        f
        for f in (
            found.dockerfile,
            found.procfile,
            found.requirements,
            found.pyproject,
            found.package_json,
        )
        if f
    ]
    if found.start_from in PY_ENTRY_FILES:
        files.append(found.start_from)
    output.echo(f"  found: {', '.join(files) if files else 'no known project files'}")
    if found.start:
        output.echo(f"  start: {found.start}  (from {found.start_from})")
    else:
        output.echo(f"  start: not detected; edit `start` in {shown}")
    output.echo(f"  health: {found.health_path or '/ (no health route found)'}")
    if found.port:
        output.echo(f"  port: {found.port}  (from Dockerfile EXPOSE)")
    if found.database:
        output.echo("  database: postgres  (a Postgres driver is a dependency)")
    if added:
        output.echo(f"  .gitignore: added {', '.join(added)}")
    output.echo("next:")
    output.echo(f"  review {shown}, then `shipit deploy local`")
    if found.dotenv:
        output.echo("  `shipit env import .env` to store the variables in .env")
    if found.dockerfile and not image:
        output.echo("  to deploy the Dockerfile's image: set `image` and uncomment the build table")
    output.echo("  to go to the cloud: uncomment an environment, `shipit login PROVIDER`")


def register(app: typer.Typer) -> None:
    """Add `shipit init` to the app."""
    app.command("init")(init)
