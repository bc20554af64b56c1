"""Errors whose message is shown to the user as is: what is wrong, where, what to do."""


class TabsynthError(ValueError):
    """Bad input or settings; the CLI prints the message on one line and exits with code 2."""


class TableError(TabsynthError):
    """The input table (or its schema) cannot be used."""


class ConfigError(TabsynthError):
    """A setting (method, device, rows, …) is invalid."""
