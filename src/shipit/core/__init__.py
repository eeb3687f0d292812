"""The core: plans, the engine that applies them, releases (promote, rollback)."""
