"""The one error type of `gaia_core.attribution`."""

from gaia_core.errors import GaiaError


class AttributionError(GaiaError, ValueError):
    """An attribution cannot be computed or drawn as asked; the message says what to change."""
