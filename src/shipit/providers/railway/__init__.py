"""The Railway adapter (public GraphQL API); the registry imports ``RailwayProvider`` from here."""

from shipit.providers.railway.provider import RailwayProvider

__all__ = ["RailwayProvider"]
