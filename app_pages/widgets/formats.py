"""Sizes, number formats and wording the widgets and the pages share."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

THUMB = 96  # pixels of a gallery thumbnail's shorter side
# Scores in every table: enough digits to compare with a threshold (0.0084 vs 0.008397 reads wrong).
SCORE_FORMAT = "%.6g"
# AUROC, FPR95 and AUPR on every page: percent with one decimal and a "%" ("92.1%"), of values
# already multiplied by 100 (`percent_columns`).
PERCENT_FORMAT = "%.1f%%"
# The toggle that brings a table's derived columns back (hidden so that it fits 1024 px).
ALL_COLUMNS = "Show all columns"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"1 image"``, ``"2 images"``: the count with its noun in the number it takes."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def mistakes_sentence(wrong: int, labelled: int) -> str:
    """How many of the labelled false alarms the model misclassifies, in words that agree with the numbers
    ("1 of the 22 labelled false alarms is an image the model itself misclassifies.")."""
    if labelled == 0:
        return "None of them has a true label."
    if labelled == 1:
        return f"The one labelled false alarm is {'an image' if wrong else 'not an image'} the model misclassifies."
    many = "None" if wrong == 0 else str(wrong)
    verb = "are images" if wrong > 1 else "is an image"
    return f"{many} of the {labelled} labelled false alarms {verb} the model itself misclassifies."


def percent_columns(frame: pd.DataFrame, columns: Sequence[str], unit: bool = False) -> pd.DataFrame:
    """A copy of ``frame`` with ``columns`` (fractions) in percent; with ``unit``, their names say so
    ("AUROC (%)"), as a CSV's must."""
    table = frame.copy()
    table[list(columns)] = 100 * table[list(columns)]
    return table.rename(columns={c: f"{c} (%)" for c in columns}) if unit else table
