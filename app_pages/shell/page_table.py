"""The app's pages, defined once: the navigation (`navigation.py`) and the Overview's links read this."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    """One page of the app."""

    # Script path, relative to app.py's folder.
    path: str
    # Title in the navigation and on the Overview.
    title: str
    # Material icon name.
    icon: str
    # What the page does, one or two sentences (the Overview's card).
    blurb: str


PAGES = (
    PageEntry(
        "app_pages/overview.py", "Overview", ":material/home:", "GAIA in a few sentences; the model and data in use."
    ),
    PageEntry(
        "app_pages/inspect.py",
        "Inspect images",
        ":material/image_search:",
        "Upload images or pick samples: prediction, every score on the ID reference, attribution maps, "
        "per-layer profile.",
    ),
    PageEntry(
        "app_pages/id_vs_ood.py",
        "ID vs OOD",
        ":material/compare_arrows:",
        "Score an ID set against OOD sets: histograms with the 95%-TPR threshold, ROC curves, FPR95 / AUROC / "
        "AUPR of all methods side by side.",
    ),
    PageEntry(
        "app_pages/channels.py",
        "Channel abnormality",
        ":material/grid_on:",
        "Which layers and channels separate ID from OOD: distributions per layer, a layer × channel heat map, "
        "a ranking.",
    ),
    PageEntry(
        "app_pages/layer_lab.py",
        "Layer lab",
        ":material/layers:",
        "Which layers and which aggregation carry GAIA's signal: recompute every score from kept channels, "
        "each layer alone, a held-out best subset.",
    ),
    PageEntry(
        "app_pages/browse.py",
        "Browse images",
        ":material/photo_library:",
        "Every scored image of every set in one grid and table: filter by set, class, prediction, score, "
        "flags or file name; open any image, send it to Inspect or What if?; export as CSV.",
    ),
    PageEntry(
        "app_pages/compare_runs.py",
        "Compare runs",
        ":material/table_view:",
        "Scored runs of the cache side by side: one metrics table per method with ID accuracy and near-/far-OOD "
        "averages; export as CSV or HTML.",
    ),
    PageEntry(
        "app_pages/misflagged.py",
        "Misflagged samples",
        ":material/report:",
        "ID images flagged as OOD and OOD images accepted as ID, where GAIA and MSP disagree; export as CSV.",
    ),
    PageEntry(
        "app_pages/how_it_works.py",
        "How GAIA works",
        ":material/school:",
        "A guided walk-through on one ID and one OOD image, formula beside each step.",
    ),
    PageEntry(
        "app_pages/what_if.py",
        "What if?",
        ":material/tune:",
        "Draw, upload or pick an image, push noise, blur, rotation… and watch every method's score, the "
        "prediction and GAIA's layers move from ID to OOD.",
    ),
)
