"""What the app's pages compute, without streamlit: tables, thresholds and selections over
scored sets, display images, attribution readouts, and the background job runner."""
