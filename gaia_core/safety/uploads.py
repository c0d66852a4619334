"""How large an uploaded file may be, in the unit Streamlit's uploader shows ("MB" = 2**20 bytes).

The server's own limit (``server.maxUploadSize`` in ``.streamlit/config.toml``) is the first
defence and equals the largest of these; each uploader is given its own limit, and the loaders
check the same numbers again after the upload.
"""

MIB = 2**20
# Images: the same cap as `gaia_core.safety.images.ImageLimits.max_bytes`.
IMAGE_UPLOAD_MB = 20
# Checkpoints through the browser; larger ones are read from a path on the server.
CHECKPOINT_UPLOAD_MB = 500
SERVER_UPLOAD_MB = max(IMAGE_UPLOAD_MB, CHECKPOINT_UPLOAD_MB)
