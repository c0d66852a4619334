"""Names of images a person reads: a set and an index ("digits #0"), never a file name that looks
like a label (the demo's ``digits/0.png`` is a 1), and the true label where there is one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gaia_core.data.base import ScoreDataset, SubsetDataset
from gaia_core.demo import DEMO_SAMPLES_DIR
from gaia_core.demo.data import DEMO_SETS, load_demo_set


@dataclass(frozen=True)
class DemoSample:
    """One of the demo's sample PNGs (image ``index`` of a demo set's test split)."""

    # Path relative to the samples folder, "<set>/<index>.png".
    path: str
    # The demo set it comes from ("digits", "letters", ...).
    set_name: str
    # Its position in that set (the set's sample id is "<set>:<index>").
    index: int
    # The true class, -1 when the set has none (every OOD set).
    label: int

    @property
    def name(self) -> str:
        return sample_name(self.set_name, self.index)


def sample_name(set_name: str, index: int) -> str:
    """How an image of a set is named on screen: "digits #0"."""
    return f"{set_name} #{int(index)}"


def with_label(name: str, label: int, class_name: Callable[[int], str] = str) -> str:
    """``name`` followed by its true label when it has one: "digits #0 · true label 1"."""
    return f"{name} · true label {class_name(int(label))}" if int(label) >= 0 else name


def demo_samples(directory: str | Path | None = None) -> list[DemoSample]:
    """The demo's sample PNGs (`gaia_core.demo.data.export_samples`), by set then index, with their labels."""
    folder = Path(directory) if directory is not None else DEMO_SAMPLES_DIR
    found = []
    for png in folder.glob("*/*.png"):
        if png.stem.isdigit() and png.parent.name in DEMO_SETS:
            found.append((png.parent.name, int(png.stem)))
    labels = {name: load_demo_set(name)[1] for name in {name for name, _ in found}}
    return [
        DemoSample(f"{name}/{index}.png", name, index, int(labels[name][index]) if index < len(labels[name]) else -1)
        for name, index in sorted(found)
    ]


def source_index(dataset: ScoreDataset, index: int) -> int:
    """The position in the whole set of item ``index`` of ``dataset``, through any subsets (the app
    scores an evenly spaced subset: its item 35 may be the set's image 420)."""
    index = int(index)
    while isinstance(dataset, SubsetDataset):
        index, dataset = int(dataset.indices[index]), dataset.parent
    return index


def item_name(dataset: ScoreDataset, index: int, class_name: Callable[[int], str] = str) -> str:
    """Item ``index`` of ``dataset`` named as on screen, with its true label ("digits #0 · true label 1")."""
    name = sample_name(dataset.name, source_index(dataset, index))
    return with_label(name, int(dataset.labels()[int(index)]), class_name)
