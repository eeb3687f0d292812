"""shipit.toml: models, loading with locations, and per-environment overlays."""

from shipit.config.loader import LoadedConfig, find_config, load_config, parse_config
from shipit.config.overlay import Environment, ServiceSpec, resolve_environment

__all__ = [
    "Environment",
    "LoadedConfig",
    "ServiceSpec",
    "find_config",
    "load_config",
    "parse_config",
    "resolve_environment",
]
