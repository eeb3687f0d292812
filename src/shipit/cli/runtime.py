"""Commands that look at or stop what runs: status, logs, down."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipit.cli import context

if TYPE_CHECKING:
    from shipit.providers.base import LogLine


def status(
    env_name: Annotated[
        str | None, typer.Argument(metavar="[ENV]", help="Environment (default: every one).")
    ] = None,
) -> None:
    """Show each service's state, URL, release and health."""
    from shipit.errors import ShipitError

    loaded = context.load()
    names = [env_name] if env_name else loaded.config.pipeline()
    documents: list[dict[str, Any]] = []
    for name in names:
        env = context.environment(loaded, name)
        document: dict[str, Any] = {"environment": name, "provider": env.provider, "services": []}
        try:
            provider = context.provider_for(env)
            try:
                for spec in env.services.values():
                    state = provider.status(spec)
                    document["services"].append(
                        {
                            "name": spec.name,
                            "state": state.state,
                            "url": state.url,
                            "release": state.release,
                            "release_name": state.release_name,
                            "healthy": state.healthy,
                            "since": state.since,
                            **{k: v for k, v in state.extra.items() if k not in {"log"}},
                        }
                    )
            finally:
                provider.close()
        except ShipitError as error:
            if env_name:
                raise
            document["error"] = str(error)
        documents.append(document)
    if context.output.json_mode:
        context.output.emit_json(documents[0] if env_name else {"environments": documents})
        return
    for document in documents:
        context.output.echo(f"{document['environment']} ({document['provider']})")
        if "error" in document:
            context.output.echo(f"  unavailable: {document['error']}")
            continue
        for svc in document["services"]:
            health = {True: "healthy", False: "unhealthy", None: "-"}[svc["healthy"]]
            extra = ""
            if svc.get("pid"):
                extra = f"  pid {svc['pid']}"
            if svc.get("uptime_seconds") is not None:
                extra += f"  up {_duration(svc['uptime_seconds'])}"
            release = svc["release"] or "-"
            if svc["release_name"]:
                release += f" ({svc['release_name']})"
            context.output.echo(
                f"  {svc['name']}: {svc['state']}  {health}  {svc['url'] or '-'}  "
                f"release {release}{extra}"
            )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def logs(
    env_name: Annotated[
        str | None, typer.Argument(metavar="[ENV]", help="Environment (default: local).")
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option("-s", "--service", help="Only this service (repeatable).")
    ] = None,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[
        int | None, typer.Option("-n", "--lines", help="Only the last N lines per service.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only lines since a duration (10m) or time.")
    ] = None,
    build: Annotated[bool, typer.Option("--build", help="Build logs instead of runtime.")] = False,
) -> None:
    """Print build or runtime logs (JSON lines with --json)."""
    from shipit.core.engine import select_services
    from shipit.core.timespec import parse_since
    from shipit.errors import UsageError
    from shipit.providers.base import Capability

    if lines is not None and lines < 0:
        raise UsageError("-n/--lines must be 0 or more")
    loaded = context.load()
    name = env_name or context.default_environment(loaded)
    env = context.environment(loaded, name)
    specs = select_services(env, service)
    since_time = parse_since(since) if since else None
    provider = context.provider_for(env)
    try:
        if Capability.LOGS not in provider.capabilities:
            raise UsageError(f"the {provider.name} provider cannot show logs")
        if follow and Capability.LOGS_FOLLOW not in provider.capabilities:
            raise UsageError(f"the {provider.name} provider cannot follow logs", hint="drop -f")
        if build and Capability.BUILD_LOGS not in provider.capabilities:
            raise UsageError(f"the {provider.name} provider has no build logs", hint="drop --build")
        if follow and len(specs) > 1:
            _follow_many(provider, specs, lines, since_time, build, name)
            return
        for spec in specs:
            for line in provider.logs(
                spec, follow=follow, lines=lines, since=since_time, build=build
            ):
                _print_line(line, name, provider.name, prefix=len(specs) > 1)
    except KeyboardInterrupt:
        return
    finally:
        provider.close()


def _follow_many(
    provider: Any, specs: list[Any], lines: Any, since: Any, build: bool, env: str
) -> None:
    """Follow several services at once, one thread each, lines printed as they come."""
    import threading

    stop = threading.Event()

    def pump(spec: Any) -> None:
        for line in provider.logs(spec, follow=True, lines=lines, since=since, build=build):
            if stop.is_set():
                return
            _print_line(line, env, provider.name, prefix=True)

    threads = [threading.Thread(target=pump, args=(s,), daemon=True) for s in specs]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(0.2)
    finally:
        stop.set()


def _print_line(line: LogLine, env: str, provider: str, *, prefix: bool) -> None:
    if context.output.json_mode:
        context.output.emit_json_line(
            {
                "ts": line.timestamp,
                "env": env,
                "service": line.service,
                "provider": provider,
                "stream": line.stream,
                "level": line.level,
                "release": line.release,
                "message": line.message,
            }
        )
        return
    stamp = line.timestamp.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    who = f"{line.service} " if prefix else ""
    context.output.echo(f"{stamp} {who}{line.stream}: {line.message}")


def down(
    env_name: Annotated[str, typer.Argument(metavar="ENV", help="Environment to stop.")],
    service: Annotated[
        list[str] | None, typer.Option("-s", "--service", help="Only this service (repeatable).")
    ] = None,
) -> None:
    """Stop every service of ENV that shipit started (local provider)."""
    from shipit.core.engine import select_services
    from shipit.errors import UsageError
    from shipit.providers.base import Capability

    loaded = context.load()
    env = context.environment(loaded, env_name)
    provider = context.provider_for(env)
    stopped: list[str] = []
    try:
        if Capability.STOP not in provider.capabilities:
            raise UsageError(
                f"the {provider.name} provider cannot be stopped from shipit",
                hint="`down` stops services of the local provider",
            )
        for spec in select_services(env, service):
            provider.stop(spec)
            stopped.append(spec.name)
    finally:
        provider.close()
    if context.output.json_mode:
        context.output.emit_json({"ok": True, "environment": env_name, "stopped": stopped})
    else:
        for name in stopped:
            context.output.echo(f"{name}: stopped")


def register(app: typer.Typer) -> None:
    """Add status, logs and down to the app."""
    app.command("status")(status)
    app.command("logs")(logs)
    app.command("down")(down)
