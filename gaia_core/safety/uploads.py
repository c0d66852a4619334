"""How large an uploaded file may be, in megabytes as the browser's uploader counts them.

Streamlit's uploader, on Linux and macOS browsers, both counts a file's size ("27.0MB" on its
chip) and applies ``max_upload_size`` in MB of 10**6 bytes; the loaders count and refuse in the
same unit, so the chip, the stated limit and a refusal never disagree. (Windows browsers count
2**20 bytes per MB in the chip and the widget's own limit; the loaders' check then is the looser
one, and never refuses a file the widget accepted by more than 5 %.)

The server's own limit (``server.maxUploadSize`` in ``.streamlit/config.toml``, counted by the
server in 2**20 bytes) is the first defence and equals the largest of these; each uploader is
given its own limit, and the loaders check the same numbers again after the upload.
"""

MB = 10**6
# Images: the same cap as `gaia_core.safety.images.ImageLimits.max_bytes`.
IMAGE_UPLOAD_MB = 20
# Checkpoints through the browser; larger ones are read from a path on the server.
CHECKPOINT_UPLOAD_MB = 500
SERVER_UPLOAD_MB = max(IMAGE_UPLOAD_MB, CHECKPOINT_UPLOAD_MB)


def megabytes(n_bytes: int) -> str:
    """A size as the uploader's chip writes it, e.g. ``"27.0 MB"`` for 27,000,000 bytes."""
    return f"{n_bytes / MB:.1f} MB"
