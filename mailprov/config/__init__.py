"""Configuration files: loading, schema, semantic checks."""

from mailprov.config.load import DEFAULT_CONFIG, load_config

__all__ = ["DEFAULT_CONFIG", "load_config"]
