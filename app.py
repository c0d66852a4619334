"""GAIA Explorer: ``streamlit run app.py``. Page config, the shared sidebar, and the pages.

The model (the embedded demo by default) is loaded once per server and shared by every
session; long scoring runs in background jobs (`gaia_core.app_support.jobs`) that pages follow.
The pages are listed in `app_pages/page_table.py`.
"""

from app_pages.frame import navigation, run_page
from app_pages.model_picker import sidebar
from app_pages.state import keep_choices
from gaia_core.device import configure_cpu_process

configure_cpu_process()  # once per server process; later reruns return the same settings
page = navigation()
keep_choices()
sidebar()
run_page(page)
