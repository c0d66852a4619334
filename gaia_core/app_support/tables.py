"""Per-sample tables of scored sets and what the pages read off them: thresholds and verdicts,
the ID + OOD table of a benchmark and the rows it misflags, and where two methods disagree
(every method's metrics side by side: `gaia_core.evaluation.ood_tables.metrics_by_method`).

Scores are abnormalities: higher = more OOD; a sample is flagged as OOD when its score is
strictly above the threshold. Inputs are never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from gaia_core.errors import AppSupportError
from gaia_core.evaluation.metrics import percentile_of
from gaia_core.evaluation.results import DatasetScores
from gaia_core.scores import method_label

# Columns added by `combined_table`: the set a row comes from (its title), whether that set is
# the ID set, and the row's position in its own set's table (where its channel values are).
SET_COLUMN = "set"
IS_ID_COLUMN = "is_id"
ROW_COLUMN = "row"
# Disagreement filters of `disagreement`: keep every row, rows only method A flags, only B flags.
DISAGREEMENTS = ("all", "a_only", "b_only")


def score_verdicts(
    scores: Mapping[str, float], id_table: pd.DataFrame | None, thresholds: Mapping[str, float] | None
) -> pd.DataFrame:
    """One image's scores placed on the ID reference.

    Args:
        scores: method -> the image's score.
        id_table: the ID set's per-sample table (None when no reference is available).
        thresholds: method -> flag-as-OOD threshold (from `thresholds_at_tpr`), or None.

    Returns:
        one row per method: method, label, score, id_percentile (% of ID scores <= it),
        threshold, flagged (score > threshold); the last three are NaN / None without a reference.
    """
    rows = []
    for method, score in scores.items():
        known = id_table is not None and thresholds is not None and method in thresholds
        percentile = percentile_of(score, id_table[method].to_numpy()) if known else np.nan
        threshold = float(thresholds[method]) if known else np.nan
        rows.append(
            {
                "method": method,
                "label": method_label(method),
                "score": float(score),
                "id_percentile": percentile,
                "threshold": threshold,
                "flagged": bool(score > threshold) if known else None,
            }
        )
    return pd.DataFrame(rows, columns=["method", "label", "score", "id_percentile", "threshold", "flagged"])


def combined_table(id_scores: DatasetScores, ood_scores: Mapping[str, DatasetScores]) -> pd.DataFrame:
    """The ID set's and every OOD set's per-sample tables stacked, with `SET_COLUMN`,
    `IS_ID_COLUMN` and `ROW_COLUMN` added; the index is 0..n-1."""
    parts = []
    for title, scores, is_id in [(id_scores.title, id_scores, True), *((t, s, False) for t, s in ood_scores.items())]:
        part = scores.table.copy()
        part[SET_COLUMN] = title
        part[IS_ID_COLUMN] = is_id
        part[ROW_COLUMN] = np.arange(len(part))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def selected_rows(table: pd.DataFrame, picks_per_set: Mapping[str, Sequence], column: str = ROW_COLUMN) -> pd.DataFrame:
    """Rows of a `combined_table` picked per set, set by set.

    Args:
        picks_per_set: set title -> values of ``column`` to keep: by default positions in that
            set's own table (as `points_to_rows` and `gaia_core.charts.rows_in_selection`
            return them), or e.g. sample ids with ``column="sample_id"``.
    """
    parts = [
        table[(table[SET_COLUMN] == title) & table[column].isin(list(picks))] for title, picks in picks_per_set.items()
    ]
    return pd.concat(parts) if parts else table.iloc[:0]


def flag_counts(table: pd.DataFrame, thresholds: Mapping[str, float]) -> np.ndarray:
    """(N,) how many of the methods in ``thresholds`` flag each row as OOD (score > threshold)."""
    flags = [table[m].to_numpy(dtype=np.float64) > t for m, t in thresholds.items()]
    return np.sum(flags, axis=0).astype(int) if flags else np.zeros(len(table), dtype=int)


def misflagged(
    table: pd.DataFrame, method: str, threshold: float, most_abnormal_first: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The errors of one method at one threshold.

    Args:
        table: a `combined_table`.
        method: score column.
        threshold: flag as OOD when score > threshold.
        most_abnormal_first: sort by score descending (else ascending).

    Returns:
        (ID rows flagged as OOD, OOD rows accepted as ID), each sorted by the method's score.
    """
    if method not in table.columns:
        raise AppSupportError(f"the table has no '{method}' scores")
    flagged = table[method].to_numpy(dtype=np.float64) > threshold
    is_id = table[IS_ID_COLUMN].to_numpy(dtype=bool)
    order = {"by": method, "ascending": not most_abnormal_first, "kind": "stable"}
    return table[is_id & flagged].sort_values(**order), table[~is_id & ~flagged].sort_values(**order)


def disagreement(
    table: pd.DataFrame, method_a: str, method_b: str, thresholds: Mapping[str, float], keep: str = "all"
) -> pd.DataFrame:
    """Rows where two methods disagree at their thresholds.

    Args:
        table: per-sample rows with both score columns.
        method_a, method_b: score columns (e.g. "gaia_a" and "msp").
        thresholds: method -> flag-as-OOD threshold, for both methods.
        keep: "all" (no filter), "a_only" (A flags, B does not) or "b_only" (B flags, A does not).
    """
    if keep not in DISAGREEMENTS:
        raise AppSupportError(f"keep must be one of {DISAGREEMENTS}, got {keep!r}")
    if keep == "all":
        return table
    a = table[method_a].to_numpy(dtype=np.float64) > thresholds[method_a]
    b = table[method_b].to_numpy(dtype=np.float64) > thresholds[method_b]
    return table[a & ~b] if keep == "a_only" else table[~a & b]


def image_summary(
    table: pd.DataFrame,
    methods: Sequence[str],
    class_name: Callable[[int], str],
    thresholds: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per scored image, as the inspect page lists them.

    Args:
        table: a per-sample table (`gaia_core.evaluation.results.DatasetScores.table`).
        methods: score columns to show, in order.
        class_name: class index -> the name a person reads.
        thresholds: method -> flag-as-OOD threshold; with them, a "flagged by" column ("2 of 7").

    Returns:
        columns image, prediction, confidence, [true label, correct: when some row has a label
        (`model_correct`; empty / None for rows without one)], [flagged by], then one column per
        method's label.
    """
    summary = pd.DataFrame(
        {
            "image": table["sample_id"].to_numpy(),
            "prediction": [class_name(int(p)) for p in table["pred"]],
            "confidence": table["confidence"].to_numpy(),
        }
    )
    if "label" in table.columns and (table["label"].to_numpy() >= 0).any():
        summary["true label"] = [class_name(int(y)) if y >= 0 else "" for y in table["label"]]
        summary["correct"] = model_correct(table).to_numpy()
    if thresholds is not None:
        counts = flag_counts(table, {m: thresholds[m] for m in methods})
        summary["flagged by"] = [f"{n} of {len(methods)}" for n in counts]
    for method in methods:
        summary[method_label(method)] = table[method].to_numpy()
    return summary


def model_correct(table: pd.DataFrame) -> pd.Series:
    """Per row: True when the model's prediction equals the true label, False when it does not,
    None when the row has no label (label < 0, e.g. every OOD image)."""
    labels, preds = table["label"].to_numpy(), table["pred"].to_numpy()
    return pd.Series([bool(p == y) if y >= 0 else None for p, y in zip(preds, labels)], index=table.index, dtype=object)


def mistakes_among(rows: pd.DataFrame) -> tuple[int, int]:
    """(how many of ``rows`` the model misclassifies, how many of them have a label)."""
    correct = model_correct(rows).dropna()
    return int((~correct.astype(bool)).sum()), len(correct)
