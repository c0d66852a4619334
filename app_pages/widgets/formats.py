"""Sizes and number formats the widgets and the pages share."""

THUMB = 96  # pixels of a gallery thumbnail's shorter side
# Scores in every table: enough digits to compare with a threshold (0.0084 vs 0.008397 reads wrong).
SCORE_FORMAT = "%.6g"
