"""GAIA Explorer: ``streamlit run app.py``. Server set-up, page config, the shared sidebar, and the pages.

The model (the embedded demo by default) is loaded once per server and shared by every
session; long scoring runs in background jobs (`gaia_core.app_support.jobs`) that pages follow.
The pages are listed in `app_pages/shell/page_table.py`.
"""

from app_pages.shell.error_frame import guarded, run_page
from app_pages.shell.navigation import navigation
from app_pages.shell.sidebar import sidebar
from app_pages.shell.state import keep_choices
from gaia_core.device import configure_cpu_process, configure_server_threads

configure_cpu_process()  # once per server process; later reruns return the same settings
page = navigation()
# Sessions run in parallel already: one torch thread each unless GAIA_TORCH_THREADS says otherwise
# (after the first run, a check that changes nothing).
guarded("Server settings", configure_server_threads)
keep_choices()
sidebar()
run_page(page)
