"""``shipit build``: build, push and pin each service's image, or resolve its prebuilt image.

Services with a ``[services.X.build]`` table are built and pushed; services with only an ``image``
are resolved to the digest their registry reports; services with neither are skipped. No
environment is needed (images do not vary by environment); ``-e`` picks one anyway, by default the
first of the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipit.cli import context

if TYPE_CHECKING:
    from shipit.config import Environment, LoadedConfig


def _environment(loaded: LoadedConfig, name: str | None) -> Environment:
    """The named environment, else the first one, else a bare view of the services."""
    from shipit.config import LoadedConfig as Loaded
    from shipit.config import resolve_environment
    from shipit.config.models import EnvironmentConfig

    if name:
        return resolve_environment(loaded, name)
    if loaded.config.environments:
        first = (loaded.config.pipeline() or list(loaded.config.environments))[0]
        return resolve_environment(loaded, first)
    bare = loaded.config.model_copy(update={"environments": {"build": EnvironmentConfig()}})
    return resolve_environment(Loaded(loaded.path, loaded.text, bare), "build")


def build(
    service: Annotated[
        list[str] | None, typer.Option("-s", "--service", help="Only this service (repeatable).")
    ] = None,
    builder: Annotated[
        str | None,
        typer.Option("--builder", help="docker, buildah or podman (default: the first on PATH)."),
    ] = None,
    env_name: Annotated[
        str | None,
        typer.Option("-e", "--env", help="Environment to read services from (default: first)."),
    ] = None,
) -> None:
    """Build and push images once, pinned by the digest the registry reports."""
    from shipit import artifacts
    from shipit.errors import UsageError

    loaded = context.load()
    env = _environment(loaded, env_name)
    names = list(service or env.services)
    unknown = [name for name in names if name not in env.services]
    if unknown:
        raise UsageError(
            f"no service {', '.join(map(repr, unknown))} in {loaded.path.name}",
            hint=f"services: {', '.join(env.services)}",
        )
    reporter = context.reporter()
    documents: list[dict[str, Any]] = []
    for name in names:
        spec = env.services[name]
        if spec.build is not None:
            action, step = "built", "build"
            reporter.step(name, step, "start", f"image {spec.image}")
        elif spec.image:
            action, step = "resolved", "resolve"
            reporter.step(name, step, "start", spec.image)
        else:
            reporter.step(name, "build", "skip", "no build table and no image")
            documents.append(
                {"name": name, "action": "skipped", "artifact": None, "digest": None, "tag": None}
            )
            continue
        try:
            artifact = artifacts.artifact_for(env, spec, builder=builder, reporter=reporter)
        except Exception:
            reporter.step(name, step, "fail")
            raise
        assert artifact is not None
        reporter.step(name, step, "done", artifact.ref)
        documents.append(
            {
                "name": name,
                "action": action,
                "artifact": artifact.ref,
                "digest": artifact.digest,
                "tag": artifact.tag,
            }
        )
    output = context.output
    if output.json_mode:
        output.emit_json({"services": documents})
        return
    output.table(
        ["service", "action", "artifact", "tag"],
        [[d["name"], d["action"], d["artifact"] or "-", d["tag"] or "-"] for d in documents],
    )


def register(app: typer.Typer) -> None:
    """Add ``shipit build`` to the app."""
    app.command("build")(build)
