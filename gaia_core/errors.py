"""The one base class of every error a user can cause.

A `GaiaError` means the input (a file, a path, a model, a layer name, an option) does not fit,
and its message says what to change. The command line and the app catch exactly this class and
show the message; anything else is a bug, logged with its traceback and shown as unexpected.
"""


class GaiaError(Exception):
    """Bad input that a user can fix; the message says how."""


def one_line(err: BaseException) -> str:
    """An error's message on one line (the type's name when it has none)."""
    return " ".join(str(err).split()) or type(err).__name__


class UnknownNameError(GaiaError, KeyError):
    """A name (score method, model, dataset) that is not registered; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(GaiaError, TypeError):
    """Options that a method or a model does not take, or values that do not fit together."""


class AppSupportError(GaiaError, ValueError):
    """A computation for a front-end (the app's pages, the report) got inputs that do not fit
    together: tables, images or metrics asked of sets, methods or layers that were not scored."""
