"""What the app's pages compute, without streamlit: per-sample tables and selections over scored
sets, channel values, layer profiles, attribution readouts, data-set choices, the background job
runner and the uploaded-checkpoint store. The report and the command line never import it."""
