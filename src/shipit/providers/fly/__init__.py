"""The Fly.io adapter (Machines REST + GraphQL); the registry imports ``FlyProvider`` from here."""

from shipit.providers.fly.provider import FlyProvider

__all__ = ["FlyProvider"]
