"""The errors a user is shown as one line (`fedexp: error: …`), not as a traceback."""


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key and what was expected."""


class InvalidValueError(ConfigError):
    """A value its key does not allow; the message starts with the key (`clip_norm must be a
    number > 0, found -1`, `path: … is not …`). It carries `key`, so that the `fedexp` command
    says where the key sits in the config (`aggregator.` + the message) without parsing it."""

    def __init__(self, key, message):
        self.key = key
        super().__init__(message)
