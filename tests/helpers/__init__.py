"""Helpers the test modules share (no test module imports another): `helpers.app` drives the
Streamlit app through `streamlit.testing`, `helpers.browser` drives it in Chromium. Their
fixtures are in `tests/conftest.py`."""
