"""Names in shipit.toml to Railway ids: workspace, project, environment and service.

``[environments.E.railway]`` gives ``project`` (name or id), optionally ``environment`` (name or
id; default: the Railway environment with the shipit environment's name, never a guess, so
``staging`` cannot land in ``production``; with a project token, the one it is bound to) and
``workspace`` (name or id, to find a project by name with a workspace token). Names match as the
Railway CLI matches them: projects and services case-insensitively, environments exactly.
Answers are cached for the life of the adapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from shipit.errors import AuthError, ConfigError
from shipit.http import GraphQLResponseError
from shipit.providers.railway import operations as ops
from shipit.providers.railway.client import RailwayClient
from shipit.providers.railway.parse import edges

_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
PAGE: Final = 100


def looks_like_id(value: str) -> bool:
    """True for a Railway id (a UUID)."""
    return bool(_ID.match(value))


@dataclass(frozen=True)
class Target:
    """The Railway project and environment one shipit environment deploys to."""

    project_id: str
    project_name: str
    environment_id: str
    environment_name: str


class Resolver:
    """Finds (and caches) the ids behind the names of one shipit environment."""

    def __init__(
        self,
        api: RailwayClient,
        *,
        env_name: str,
        project: str,
        environment: str | None,
        workspace: str | None,
    ) -> None:
        self.api = api
        self.env_name = env_name
        self.project = project
        self.environment = environment
        self.workspace = workspace
        self._target: Target | None = None
        self._services: dict[str, str] | None = None

    @property
    def key(self) -> str:
        """The config key of this environment's Railway block (for error messages)."""
        return f"environments.{self.env_name}.railway"

    def target(self) -> Target:
        """The project and environment ids (cached)."""
        if self._target is None:
            self._target = self._resolve()
        return self._target

    def services(self, *, refresh: bool = False) -> dict[str, str]:
        """Service name -> id for every service of the project (cached)."""
        target = self.target()  # resolving the target also lists the services once
        if self._services is None or refresh:
            project = self._project(target.project_id)
            self._services = {str(n["name"]): str(n["id"]) for n in edges(project.get("services"))}
        return self._services

    def service_id(self, name: str) -> str | None:
        """The id of the service named ``name`` (case-insensitive) or with that id, or None."""
        fresh = self._services is None
        found = _match(self.services(), name)
        if found is None and not fresh:
            found = _match(self.services(refresh=True), name)
        return found

    def ensure_service(self, name: str) -> str:
        """The id of service ``name``, creating an empty service when there is none."""
        found = self.service_id(name)
        if found is not None:
            return found
        target = self.target()
        data = self.api.call(
            ops.SERVICE_CREATE,
            input={
                "projectId": target.project_id,
                "name": name,
                "environmentId": target.environment_id,
            },
        )
        created = data["serviceCreate"]
        service_id = str(created["id"])
        self.services()[str(created.get("name") or name)] = service_id
        return service_id

    def forget_services(self) -> None:
        """Drop the cached service list (after something created a service)."""
        self._services = None

    # internals ----------------------------------------------------------------------------
    def _resolve(self) -> Target:
        if self.api.token_kind == "project":
            return self._from_project_token()
        project = self._find_project()
        self._services = {str(n["name"]): str(n["id"]) for n in edges(project.get("services"))}
        return self._pick_environment(project, self.environment or self.env_name)

    def _from_project_token(self) -> Target:
        bound = self.api.call(ops.PROJECT_TOKEN)["projectToken"]
        project = bound.get("project") or {}
        environment = bound.get("environment") or {}
        if self.project not in {bound.get("projectId"), project.get("name")} and (
            self.project.casefold() != str(project.get("name", "")).casefold()
        ):
            raise ConfigError(
                f"RAILWAY_TOKEN belongs to project {project.get('name')!r}, not {self.project!r}",
                key=f"{self.key}.project",
                hint="use a project token of that project, or RAILWAY_API_TOKEN",
            )
        if self.environment and self.environment not in {
            bound.get("environmentId"),
            environment.get("name"),
        }:
            raise ConfigError(
                f"RAILWAY_TOKEN is bound to environment {environment.get('name')!r}, "
                f"not {self.environment!r}",
                key=f"{self.key}.environment",
                hint="a project token works in one environment: use that environment's token, "
                "or RAILWAY_API_TOKEN",
            )
        return Target(
            project_id=str(bound["projectId"]),
            project_name=str(project.get("name") or bound["projectId"]),
            environment_id=str(bound["environmentId"]),
            environment_name=str(environment.get("name") or bound["environmentId"]),
        )

    def _project(self, project_id: str) -> dict[str, Any]:
        project: dict[str, Any] = self.api.call(ops.PROJECT, id=project_id)["project"]
        return project

    def _find_project(self) -> dict[str, Any]:
        """The project named (or with the id) in config, with its environments and services."""
        if looks_like_id(self.project):
            try:
                return self._project(self.project)
            except GraphQLResponseError as error:
                if not error.mentions("not found"):
                    raise
        workspaces: list[str | None] = [self._workspace_id()] if self.workspace else [None]
        matches = self._projects_named(self.project, workspaces)
        if not matches and not self.workspace:
            matches = self._projects_named(self.project, self._all_workspaces())
        if len(matches) > 1:
            raise ConfigError(
                f"{len(matches)} Railway projects are named {self.project!r}",
                key=f"{self.key}.project",
                hint=f"set {self.key}.project to the project id, or set {self.key}.workspace",
            )
        if not matches:
            raise ConfigError(
                f"no Railway project named {self.project!r} is visible to this token",
                key=f"{self.key}.project",
                hint="create the project in Railway (or `railway init`), or fix the name; "
                "a workspace token only sees its workspace",
            )
        return self._project(matches[0])

    def _projects_named(self, name: str, workspaces: list[str | None]) -> list[str]:
        found: list[str] = []
        for workspace_id in workspaces:
            after: str | None = None
            while True:
                page = self.api.call(
                    ops.PROJECTS, workspaceId=workspace_id, first=PAGE, after=after
                )["projects"]
                for node in edges(page):
                    if node.get("deletedAt"):
                        continue
                    if str(node.get("name", "")).casefold() == name.casefold():
                        found.append(str(node["id"]))
                info = page.get("pageInfo") or {}
                if not info.get("hasNextPage") or not info.get("endCursor"):
                    break
                after = str(info["endCursor"])
        return sorted(set(found))

    def _all_workspaces(self) -> list[str | None]:
        try:
            me = self.api.call(ops.ME)["me"]
        except (GraphQLResponseError, AuthError):
            return []  # workspace and project tokens cannot read `me`
        return [str(w["id"]) for w in me.get("workspaces") or []]

    def _workspace_id(self) -> str:
        assert self.workspace is not None
        if looks_like_id(self.workspace):
            return self.workspace
        try:
            me = self.api.call(ops.ME)["me"]
        except AuthError:
            raise ConfigError(
                f"cannot look up workspace {self.workspace!r} by name with this token",
                key=f"{self.key}.workspace",
                hint="set it to the workspace id (Railway: workspace settings)",
            ) from None
        for workspace in me.get("workspaces") or []:
            if str(workspace.get("name", "")).casefold() == self.workspace.casefold():
                return str(workspace["id"])
        names = ", ".join(str(w.get("name")) for w in me.get("workspaces") or []) or "none"
        raise ConfigError(
            f"no Railway workspace named {self.workspace!r} (yours: {names})",
            key=f"{self.key}.workspace",
            hint="fix the name or use the workspace id",
        )

    def _pick_environment(self, project: dict[str, Any], wanted: str) -> Target:
        environments = [n for n in edges(project.get("environments")) if not n.get("deletedAt")]
        for node in environments:
            if wanted in {node.get("name"), node.get("id")}:
                if node.get("canAccess") is False:
                    raise AuthError(
                        f"this token cannot access Railway environment {wanted!r}",
                        hint="use a token with access to it (RAILWAY_API_TOKEN)",
                    )
                return Target(
                    project_id=str(project["id"]),
                    project_name=str(project.get("name") or project["id"]),
                    environment_id=str(node["id"]),
                    environment_name=str(node["name"]),
                )
        names = ", ".join(str(n.get("name")) for n in environments) or "none"
        raise ConfigError(
            f"Railway project {project.get('name')!r} has no environment {wanted!r} "
            f"(it has: {names})",
            key=f"{self.key}.environment",
            hint=f"create it in Railway (`railway environment new {wanted}`), or set "
            f"{self.key}.environment to one of those",
        )


def _match(services: dict[str, str], name: str) -> str | None:
    for service_name, service_id in services.items():
        if name.casefold() == service_name.casefold() or name == service_id:
            return service_id
    return None
