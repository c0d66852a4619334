"""Drivers that time the app's pages in streamlit.testing, for `python -m gaia_core.bench` (the library never imports the app)."""
