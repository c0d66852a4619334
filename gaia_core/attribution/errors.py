"""The one error type of `gaia_core.attribution`."""


class AttributionError(ValueError):
    """An attribution cannot be computed or drawn as asked; the message says what to change."""
