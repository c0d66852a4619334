"""Names of the rows of a `gaia_core.app_support.tables.combined_table`, as
`gaia_core.data.naming` names images: "<set> #<position in the whole set>", with the true label."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from gaia_core.app_support.tables import SET_COLUMN
from gaia_core.data.base import ScoreDataset
from gaia_core.data.naming import sample_name, source_index, with_label


def row_name(row: Mapping, datasets: Mapping[str, ScoreDataset], class_name: Callable[[int], str] = str) -> str:
    """A scored row's name with its label ("digits #420 · true label 3").

    Args:
        row: a row of a `gaia_core.app_support.tables.combined_table` (set, index, label).
        datasets: set title -> the dataset its ``index`` refers to.
    """
    name = sample_name(row[SET_COLUMN], source_index(datasets[row[SET_COLUMN]], row["index"]))
    return with_label(name, int(row.get("label", -1)), class_name)


def sample_names(table: pd.DataFrame, datasets: Mapping[str, ScoreDataset]) -> pd.Series:
    """Per row of a `gaia_core.app_support.tables.combined_table`: "<set> #<position in the whole set>"."""
    names = [sample_name(s, source_index(datasets[s], i)) for s, i in zip(table[SET_COLUMN], table["index"])]
    return pd.Series(names, index=table.index, dtype=object)
