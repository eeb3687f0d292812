"""The Render adapter (public REST API); the registry imports ``RenderProvider`` from here."""

from shipit.providers.render.provider import RenderProvider

__all__ = ["RenderProvider"]
