"""The app's pages (run by app.py through st.navigation, listed in `shell/page_table.py`);
the shell around them in `shell/`, the widgets they share in `widgets/`."""
