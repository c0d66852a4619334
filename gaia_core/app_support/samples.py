"""Names of scored images and of their classes, as the pages show them.

An image with a file is named by its file name ("cat_0042.png"); an in-memory image (the demo's
sets) by its set and its position in the whole set ("digits #420", as `gaia_core.data.naming`
names it: a file name such as ``digits/0.png`` would read like a label). Labels and predictions
are shown by class name where one is known (`RunClassNames`); gallery captions are cut to fit
one line (`caption_line`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gaia_core.app_support.tables import SET_COLUMN
from gaia_core.data.base import ScoreDataset
from gaia_core.data.class_names import UNKNOWN, class_names_for, label_text
from gaia_core.data.naming import sample_name, source_index, with_label

ELLIPSIS = "…"
SEPARATOR = " · "


def file_name(path: str) -> str:
    """The last part of a path, with either separator ("" for "")."""
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def image_name(row: Mapping, datasets: Mapping[str, ScoreDataset]) -> str:
    """A scored row's image: its file name, or "<set> #<position in the whole set>" without a file.

    Args:
        row: a row of a `gaia_core.app_support.tables.combined_table` (set, index, path).
        datasets: set title -> the dataset its ``index`` refers to.
    """
    path = str(row.get("path") or "")
    if path:
        return file_name(path)
    return sample_name(row[SET_COLUMN], source_index(datasets[row[SET_COLUMN]], row["index"]))


def row_name(row: Mapping, datasets: Mapping[str, ScoreDataset], class_name: Callable[[int], str] = str) -> str:
    """A scored row's name with its label ("digits #420 · true label 3", "cat_7.png · true label 3 · cat")."""
    return with_label(image_name(row, datasets), int(row.get("label", -1)), class_name)


def sample_names(table: pd.DataFrame, datasets: Mapping[str, ScoreDataset]) -> pd.Series:
    """`image_name` of every row of a `gaia_core.app_support.tables.combined_table`."""
    paths = table["path"] if "path" in table.columns else pd.Series("", index=table.index)
    names = [
        file_name(p) if p else sample_name(s, source_index(datasets[s], i))
        for s, i, p in zip(table[SET_COLUMN], table["index"], paths.fillna("").astype(str))
    ]
    return pd.Series(names, index=table.index, dtype=object)


@dataclass(frozen=True)
class RunClassNames:
    """The class names of one scoring run."""

    # The model's classes by index (what its predictions name); None when no name is known.
    model: tuple[str, ...] | None
    # Set title -> the names of its own labels (a folder set's sub-folders; the ID set falls back
    # to the model's); a set missing here has none.
    sets: Mapping[str, tuple[str, ...] | None]

    def true_text(self, title: str, label: int) -> str:
        """A label as the tables show it: "3 · cat", "3" without names, "−" unknown."""
        return label_text(label, self.sets.get(title))

    def pred_text(self, pred: int) -> str:
        """A prediction as the tables show it: "5 · dog", "5" without names."""
        return label_text(pred, self.model)

    def true_name(self, title: str, label: int) -> str:
        """A label as a caption shows it: the name alone ("cat"), the index without names, "−" unknown."""
        return _short(label, self.sets.get(title))

    def pred_name(self, pred: int) -> str:
        """A prediction as a caption shows it: "dog", or the index without names."""
        return _short(pred, self.model)


def _short(index: int, names: Sequence[str] | None) -> str:
    index = int(index)
    if index < 0:
        return UNKNOWN
    return str(names[index]) if names is not None and index < len(names) else str(index)


def run_class_names(
    datasets: Mapping[str, ScoreDataset], id_title: str, model_names: Sequence[str] | None
) -> RunClassNames:
    """Class names of a run: each set's sub-folder names, the model's own list (``model_names``,
    e.g. `gaia_core.data.class_names.class_names_for` of the model) for its predictions and the ID
    set's labels; without a list of its own the model's classes are the ID set's folder names."""
    own = {title: class_names_for(dataset=dataset) for title, dataset in datasets.items()}
    model = list(model_names) if model_names is not None else own.get(id_title)
    sets = {title: tuple(names) if names is not None else None for title, names in own.items()}
    if sets.get(id_title) is None and model is not None:
        sets[id_title] = tuple(model)
    return RunClassNames(tuple(model) if model is not None else None, sets)


def _cut_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, a third kept at its start and the rest at its end
    (a file's number and extension tell files apart), "…" between."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = max(1, (width - 1) // 3) if width > 2 else 0
    return text[:head] + ELLIPSIS + text[len(text) - (width - 1 - head) :]


def _cut_end(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + ELLIPSIS


def _shares(lengths: list[int], room: int) -> list[int]:
    """Widths for texts of ``lengths`` sharing ``room``: the short ones whole, the rest an equal share."""
    widths, left = [0] * len(lengths), room
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for taken, k in enumerate(order):
        widths[k] = max(1, min(lengths[k], left // (len(order) - taken)))
        left -= widths[k]
    return widths


def caption_line(name: str, true: str | None, pred: str, width: int) -> str:
    """One caption line, "file.png · true cat · pred dog", in at most ``width`` characters
    (at least 30).

    The name is cut first (down to 8 characters, `_cut_middle`), then the class names at
    their end; the full name belongs in a table or tooltip beside it.

    Args:
        name: the image's name (`image_name`).
        true: the true class's name, None for an image without a label (OOD).
        pred: the predicted class's name.
        width: characters the line may take.
    """
    classes = [*([("true ", true)] if true is not None else []), ("pred ", pred)]
    fixed = sum(len(SEPARATOR) + len(word) for word, _ in classes)
    shortest = min(8, len(name))
    widths = _shares([len(c) for _, c in classes], width - fixed - shortest)
    texts = [word + _cut_end(c, w) for (word, c), w in zip(classes, widths)]
    room = width - len(SEPARATOR) * len(texts) - sum(len(t) for t in texts)
    return SEPARATOR.join([_cut_middle(name, room), *texts])


def row_caption(row: Mapping, datasets: Mapping[str, ScoreDataset], names: RunClassNames, width: int) -> str:
    """`caption_line` of a scored row (set, index, path, label, pred)."""
    label = int(row.get("label", -1))
    true = names.true_name(row[SET_COLUMN], label) if label >= 0 else None
    return caption_line(image_name(row, datasets), true, names.pred_name(int(row["pred"])), width)


def input_pixels(x, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """A model input (C, H, W) as float32 (C, H, W) pixels in [0, 1] (What if?'s start image)."""
    array = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    mean = np.asarray(mean, np.float32).reshape(-1, 1, 1)
    std = np.asarray(std, np.float32).reshape(-1, 1, 1)
    return np.clip(array.astype(np.float32) * std + mean, 0.0, 1.0)
