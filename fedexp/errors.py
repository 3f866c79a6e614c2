"""The errors a user is shown as one line (`fedexp: error: …`), not as a traceback."""


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key and what was expected."""


class InvalidValueError(ConfigError):
    """A value out of what its key allows: `"{key} must be {allowed}, found {found!r}"`.

    It carries `key`, so that the `fedexp` command can say where the key sits in the config
    (`client_optimizer.` + `learning_rate …`) without reading the message."""

    def __init__(self, key, message):
        self.key = key
        super().__init__(f"{key} {message}")
