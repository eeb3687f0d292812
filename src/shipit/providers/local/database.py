"""The local provider's database: one SQLite file per service and environment.

``postgres`` is not run locally: the same SQLite file stands in, and the link says so. When the
service's environment already sets ``DATABASE_URL``, that value is used as given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shipit.providers.base import DatabaseLink

if TYPE_CHECKING:
    from shipit.config.overlay import ServiceSpec

VARIABLE = "DATABASE_URL"


def sqlite_path(folder: Path, service: ServiceSpec) -> Path:
    """Where the service's SQLite database lives: ``<env folder>/<service>.sqlite3``."""
    return (folder / f"{service.name}.sqlite3").resolve()


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite file (``sqlite:////abs/path``, as SQLAlchemy writes it)."""
    return f"sqlite:///{path}"


def link(folder: Path, service: ServiceSpec, *, given: bool) -> DatabaseLink:
    """Create the SQLite file unless ``DATABASE_URL`` is ``given``; describe what was done."""
    if service.database is None:
        return DatabaseLink(
            kind="none",
            variable=VARIABLE,
            created=False,
            written=False,
            description=f"service {service.name!r} has no database",
        )
    if given:
        return DatabaseLink(
            kind=service.database,
            variable=VARIABLE,
            created=False,
            written=False,
            description=f"{VARIABLE} is set for the service; it is used as given",
        )
    path = sqlite_path(folder, service)
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    description = f"SQLite database {path}"
    if service.database == "postgres":
        description = (
            f"the local provider does not run Postgres: using SQLite at {path} instead "
            f"(set {VARIABLE} for the service to use a Postgres server)"
        )
    return DatabaseLink(
        kind="sqlite",
        variable=VARIABLE,
        created=created,
        written=True,
        description=description,
        extra={"path": str(path), "url": sqlite_url(path), "requested": service.database},
    )
