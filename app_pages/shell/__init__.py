"""The app's shell around the pages: the page table and navigation (`page_table`, `navigation`),
the error frame (`error_frame`), session state and choices (`state`, `defaults`, `set_choices`,
`typed_paths`), the model in use (`model_choice`), the sidebar (`sidebar`), scoring runs and
following background jobs (`scoring_jobs`, `job_progress`)."""
