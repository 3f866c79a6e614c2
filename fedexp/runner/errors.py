class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key and what was expected."""
