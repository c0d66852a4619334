"""Every scored run in the score cache, and runs side by side in one metrics table.

The cache stores one entry per scored set (`gaia_core.evaluation.scoring.score_cache_parts`):
its manifest ``key.json`` holds the weights' hash, the dataset's fingerprint and size, every
method's configuration, ``keep_channels``, the code version. `record_run` adds, outside the key,
the names a person reads (model, checkpoint, set) and the run's shape: the ID entry lists its
OOD sets and their near/far groups. `list_runs` groups entries into runs:

- recorded: an entry labelled as an ID set, with the OOD sets recorded for it;
- inferred (entries scored before `record_run` existed, or by a caller that does not record):
  entries with the same weights, method configuration and code version form one run when
  exactly one of them has a label on every image (the ID set; OOD sets have none).

Metrics are computed from the cached scores (nothing is scored here), in percent.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gaia_core.data.base import ScoreDataset
from gaia_core.errors import GaiaError
from gaia_core.evaluation.cache import CacheWarning, ScoreCache
from gaia_core.evaluation.metrics import METRICS, ood_metrics
from gaia_core.evaluation.scoring import score_cache_parts
from gaia_core.scores import ScoreMethod, method_label
from gaia_core.scores.settings import MethodSettings

ID_ACCURACY = ("ID", "accuracy")
AVERAGE = "Average"


class RunsError(GaiaError, ValueError):
    """Runs that cannot be compared (none chosen, a method one of them lacks)."""


@dataclass(frozen=True)
class ScoredSet:
    """One cached set of scores, as its manifest describes it."""

    # The entry's folder.
    folder: Path
    # Hash of the model's weights.
    weights: str
    # The dataset's fingerprint, and how many images it has.
    dataset: str
    size: int
    # Method names, in the order scored.
    methods: tuple[str, ...]
    # Canonical JSON of every method's configuration (what the scores depend on).
    method_configs: str
    # `gaia_core.evaluation.code_version.code_version` of the run.
    version: str
    # Whether per-channel values were kept.
    keep_channels: bool
    # Labels recorded by `record_run`; {} for entries nobody labelled.
    labels: Mapping = field(compare=False)
    # Modification time of the manifest (seconds since the epoch).
    modified: float = 0.0

    @property
    def title(self) -> str:
        """The set's name, or its fingerprint's start when nobody recorded it."""
        return str(self.labels.get("set") or f"set {self.dataset[:8]}")

    @property
    def model(self) -> str:
        return str(self.labels.get("model") or f"weights {self.weights[:8]}")

    @property
    def checkpoint(self) -> str:
        return str(self.labels.get("checkpoint") or "")

    @property
    def family(self) -> tuple[str, str, str]:
        """Entries scored together: same weights, method configuration and code version."""
        return (self.weights, self.method_configs, self.version)


@dataclass(frozen=True)
class Run:
    """A model's ID set and OOD sets, scored with the same methods."""

    id_set: ScoredSet
    ood_sets: tuple[ScoredSet, ...]
    # (group, OOD set titles) pairs, e.g. ("near", ("SSB-hard", "NINCO")); () without groups.
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    # True when the ID set was guessed (the one fully labelled set), not recorded.
    inferred: bool

    @property
    def model(self) -> str:
        return self.id_set.model

    @property
    def checkpoint(self) -> str:
        return self.id_set.checkpoint

    @property
    def methods(self) -> tuple[str, ...]:
        return self.id_set.methods

    @property
    def settings(self) -> MethodSettings:
        """The method settings the run was scored with."""
        return MethodSettings.from_methods(json.loads(self.id_set.method_configs))

    @property
    def label(self) -> str:
        """One line: "resnet18 · r18.safetensors · CIFAR-10 (10000) vs SVHN, LSUN"."""
        parts = [self.model, *([self.checkpoint] if self.checkpoint else [])]
        against = ", ".join(s.title for s in self.ood_sets) or "no OOD set"
        return " · ".join([*parts, f"{self.id_set.title} ({self.id_set.size}) vs {against}"])


def scored_sets(cache: ScoreCache) -> list[ScoredSet]:
    """Every score entry in the cache, newest first (unreadable manifests skipped with a `CacheWarning`)."""
    found = []
    for manifest in (cache.root / "scores").glob("*/*/key.json"):
        try:
            parts = json.loads(manifest.read_text())
            methods = parts["methods"]
            found.append(
                ScoredSet(
                    folder=manifest.parent,
                    weights=str(parts["weights"]),
                    dataset=str(parts["dataset"]),
                    size=int(parts["size"]),
                    methods=tuple(str(m["name"]) for m in methods),
                    method_configs=json.dumps(methods, sort_keys=True),
                    version=str(parts.get("version", "")),
                    keep_channels=bool(parts.get("keep_channels", False)),
                    labels=dict(parts.get("labels") or {}),
                    modified=manifest.stat().st_mtime,
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            warnings.warn(f"ignoring unreadable cache manifest {manifest} ({err})", CacheWarning, stacklevel=2)
    return sorted(found, key=lambda s: (-s.modified, str(s.folder)))


def record_run(
    cache: ScoreCache,
    weights_id: str,
    id_dataset: ScoreDataset,
    ood_datasets: Sequence[ScoreDataset],
    methods: Sequence[ScoreMethod],
    *,
    keep_channels: bool,
    model: str,
    checkpoint: str = "",
    groups: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Label the cache entries of a finished run (after `evaluate_benchmark` with the same arguments).

    Args:
        weights_id: the model's `weights_fingerprint`, as given to the scoring.
        methods: the methods as scored (fitted).
        model: the model's name as menus show it ("resnet18", "timm:convnext_tiny").
        checkpoint: the checkpoint's display name (an uploaded file's own name), "" for none.
        groups: group -> OOD dataset names or display names (near-/far-OOD), as the benchmark defines them.
    """
    shared = {"model": model, "checkpoint": checkpoint}
    ood_prints = [
        _label(cache, weights_id, d, methods, keep_channels, {**shared, "set": d.display_name, "roles": ["ood"]})
        for d in ood_datasets
    ]
    by_name = {name: p for d, p in zip(ood_datasets, ood_prints) for name in (d.name, d.display_name)}
    id_labels = {**shared, "set": id_dataset.display_name, "roles": ["id"], "ood": ood_prints}
    for group, names in (groups or {}).items():
        id_labels[f"group:{group}"] = [by_name[n] for n in names if n in by_name]
    _label(cache, weights_id, id_dataset, methods, keep_channels, id_labels)


def _label(cache, weights_id, dataset, methods, keep_channels, labels) -> str:
    """Label the dataset's entry where it was scored into ``cache``; its fingerprint."""
    parts = score_cache_parts(weights_id, dataset, methods, keep_channels)
    entry = cache.entry("scores", parts)
    if entry.folder.is_dir():
        entry.add_labels(labels)
    return parts["dataset"]


def list_runs(cache: ScoreCache, sets: Sequence[ScoredSet] | None = None) -> list[Run]:
    """Every run in the cache (see the module docstring), newest ID set first."""
    sets = scored_sets(cache) if sets is None else list(sets)
    families: dict[tuple, dict[str, ScoredSet]] = {}
    for scored in sets:  # newest first: one entry per dataset, the labelled one where there is one
        members = families.setdefault(scored.family, {})
        if scored.dataset not in members or (scored.labels and not members[scored.dataset].labels):
            members[scored.dataset] = scored
    runs = []
    for members in families.values():
        recorded = [s for s in members.values() if "id" in s.labels.get("roles", [])]
        for id_set in recorded:
            ood = tuple(members[d] for d in id_set.labels.get("ood", []) if d in members and d != id_set.dataset)
            runs.append(Run(id_set, ood, _groups(id_set, members), inferred=False))
        if not recorded:
            labelled = [s for s in members.values() if _fully_labelled(s)]
            if len(labelled) == 1:
                ood = tuple(s for s in members.values() if s is not labelled[0])
                runs.append(Run(labelled[0], ood, (), inferred=True))
    return sorted(runs, key=lambda r: (-r.id_set.modified, r.label))


def _groups(id_set: ScoredSet, members: Mapping[str, ScoredSet]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    groups = []
    for key, prints in id_set.labels.items():
        if key.startswith("group:"):
            groups.append((key[len("group:") :], tuple(members[p].title for p in prints if p in members)))
    return tuple(groups)


def _chunks(scored: ScoredSet) -> list[dict[str, np.ndarray]]:
    """The entry's chunks, each sample once (the first chunk that has it wins)."""
    seen: set[int] = set()
    kept = []
    for path in sorted(scored.folder.glob("chunk-*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                chunk = {
                    k: data[k]
                    for k in data.files
                    if k in ("index", "label", "pred", "skip_index") or k.startswith("score|")
                }
        except (OSError, ValueError, EOFError) as err:
            warnings.warn(f"ignoring unreadable cache file {path} ({err})", CacheWarning, stacklevel=2)
            continue
        indices = set(chunk["index"].tolist()) | set(chunk.get("skip_index", np.zeros(0, np.int64)).tolist())
        if indices & seen:
            continue
        seen |= indices
        kept.append(chunk)
    return kept


def _fully_labelled(scored: ScoredSet) -> bool:
    labels = [c["label"] for c in _chunks(scored)]
    return bool(labels) and all((part >= 0).all() for part in labels) and sum(len(p) for p in labels) > 0


@dataclass(frozen=True)
class SetScores:
    """A cached set's scores, read back."""

    # method -> (N,) scores, higher = more OOD.
    scores: dict[str, np.ndarray]
    # (N,) true labels (-1 unknown) and predictions.
    labels: np.ndarray
    preds: np.ndarray
    # Whether every image of the set is in the cache (read or skipped as unreadable).
    complete: bool

    @property
    def accuracy(self) -> float | None:
        known = self.labels >= 0
        return float((self.preds[known] == self.labels[known]).mean()) if known.any() else None


def read_scores(scored: ScoredSet) -> SetScores:
    """The cached scores of one set (the chunks there are; ``complete`` says whether that is all)."""
    chunks = _chunks(scored)

    def column(key: str, dtype) -> np.ndarray:
        return np.concatenate([c[key] for c in chunks]).astype(dtype) if chunks else np.zeros(0, dtype)

    covered = sum(len(c["index"]) + len(c.get("skip_index", ())) for c in chunks)
    methods = [m for m in scored.methods if all(f"score|{m}" in c for c in chunks)]
    return SetScores(
        {m: column(f"score|{m}", np.float64) for m in methods},
        column("label", np.int64),
        column("pred", np.int64),
        covered == scored.size,
    )


def side_by_side(runs: Sequence[Run], method: str, _read: dict | None = None) -> pd.DataFrame:
    """One method's metrics of several runs, one row each (OpenOOD's layout).

    Returns:
        index: the runs' labels (made unique with " #2", ...); columns: a MultiIndex (set, metric)
        with FPR95, AUROC, AUPR-In, AUPR-Out in percent for each OOD set of any run (NaN where a
        run lacks it), each group's average ("Near-OOD average"), "Average" over the run's own OOD
        sets, and ("ID", "accuracy").
    """
    if not runs:
        raise RunsError("choose at least one run to compare")
    lacking = [r.label for r in runs if method not in r.methods]
    if lacking:
        raise RunsError(f"{method_label(method)} was not scored in: {'; '.join(lacking)}")
    titles: list[str] = []
    group_names: list[str] = []
    for run in runs:
        titles += [s.title for s in run.ood_sets if s.title not in titles]
        group_names += [g for g, _ in run.groups if g not in group_names]
    read = _memo(_read)
    rows, seen = {}, {}
    for run in runs:
        per_set = _run_metrics(run, method, read)
        row: dict[tuple[str, str], float] = {}
        for title in titles:
            for metric in METRICS:
                row[(title, metric.label)] = per_set.get(title, {}).get(metric.key, np.nan)
        averages = [(f"{g.capitalize()}-OOD average", dict(run.groups).get(g, ())) for g in group_names]
        for name, members in [*averages, (AVERAGE, tuple(per_set))]:
            for metric in METRICS:
                values = [per_set[t][metric.key] for t in members if t in per_set]
                row[(name, metric.label)] = float(np.mean(values)) if values else np.nan
        accuracy = read(run.id_set).accuracy
        row[ID_ACCURACY] = np.nan if accuracy is None else 100 * accuracy
        seen[run.label] = seen.get(run.label, 0) + 1
        rows[run.label if seen[run.label] == 1 else f"{run.label} #{seen[run.label]}"] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["set", "metric"])
    table.index.name = "run"
    return table


def _memo(store: dict | None):
    """`read_scores` remembered for one comparison (the cache may grow between comparisons)."""
    store = {} if store is None else store

    def read(scored: ScoredSet) -> SetScores:
        if scored.folder not in store:
            store[scored.folder] = read_scores(scored)
        return store[scored.folder]

    return read


def _run_metrics(run: Run, method: str, read) -> dict[str, dict[str, float]]:
    id_scores = read(run.id_set).scores.get(method)
    if id_scores is None or id_scores.size == 0:
        raise RunsError(f"the cache holds no {method_label(method)} scores of {run.id_set.title}")
    metrics = {}
    for ood in run.ood_sets:
        scores = read(ood).scores.get(method)
        if scores is not None and scores.size:
            metrics[ood.title] = {k: 100 * v for k, v in ood_metrics(id_scores, scores).items()}
    return metrics


def side_by_side_all(runs: Sequence[Run], methods: Sequence[str]) -> pd.DataFrame:
    """`side_by_side` of each method, stacked: index (method label, run)."""
    store: dict = {}
    tables = {method_label(m): side_by_side(runs, m, store) for m in methods}
    return pd.concat(tables, names=["method", "run"])


def comparison_csv(table: pd.DataFrame) -> str:
    """A side-by-side table as CSV, with one header row ("SVHN · FPR95", ..., "ID · accuracy")."""
    flat = table.copy()
    flat.columns = [" · ".join(c) if isinstance(c, tuple) else str(c) for c in flat.columns]
    return flat.to_csv()
