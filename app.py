"""GAIA Explorer: ``streamlit run app.py``. Page config, the shared sidebar, and the pages.

The model (the embedded demo by default) is loaded once per server and shared by every
session; long scoring runs in background jobs (`gaia_core.jobs`) that pages follow. The page
list is in `pages/nav.py`; the sidebar and the error handling in `pages/common.py`.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pages.nav import navigation  # noqa: E402

page = navigation()  # before the heavy imports below (see pages/nav.py)

from pages import common  # noqa: E402

common.run_app(page)
