"""Provider adapters: the protocol, the registry and one module per platform."""
