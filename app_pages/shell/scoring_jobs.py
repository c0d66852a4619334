"""Scoring runs for the pages: datasets, and background scoring jobs keyed by plain values, shared
by every session (followed with `app_pages.shell.job_progress`). The math is `gaia_core`'s (`evaluate`,
`evaluation`, `app_support`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages.shell import defaults
from app_pages.shell.error_frame import attempt
from app_pages.shell.job_progress import follow, job_runner
from app_pages.shell.model_choice import LoadedModel, model_label, paper_layers
from app_pages.shell.set_choices import ALL_METHODS, ensure_data_defaults, set_title
from app_pages.shell.typed_paths import shown_path
from gaia_core.app_support import sets
from gaia_core.app_support.jobs import Job
from gaia_core.app_support.readouts import Readouts, attribution_readouts
from gaia_core.app_support.sets import data_root_for
from gaia_core.app_support.tables import combined_table
from gaia_core.attribution import AttributionConfig
from gaia_core.data import (
    DataError,
    ScoreDataset,
    default_fit_set,
    evenly_spaced,
)
from gaia_core.data.class_names import labels_fit
from gaia_core.data.input_config import InputConfig
from gaia_core.data.preprocessing import load_set, preprocessed_spec
from gaia_core.errors import one_line
from gaia_core.evaluation.benchmark import BenchmarkRequest, needs_fit, run_benchmark, summed_progress
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.ood_tables import BenchmarkResult
from gaia_core.evaluation.runs import record_run
from gaia_core.evaluation.twins import scored_twins
from gaia_core.models import get_spec
from gaia_core.progress import Progress
from gaia_core.safety import PathNotAllowed, allowed_roots
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import GAIA_METHODS, ScoreMethod
from gaia_core.scores.settings import MethodSettings


@st.cache_resource(max_entries=64, show_spinner=False)
def _dataset(
    model_name: str,
    set_name: str,
    data_root: str,
    limit: int,
    id_set: str = "",
    input_config: str = "",
    title: str = "",
) -> ScoreDataset:
    config = InputConfig.from_json(input_config) if input_config else None
    try:
        root = data_root_for(set_name, data_root)
    except OSError as err:  # a typed root the system refuses (too long): refused like any other
        raise PathNotAllowed(f"data root {shown_path(data_root)} cannot be used: {err.strerror or err}") from None
    # The ID set's normalization (CIFAR-100's for CIFAR-100), the set's crop rule: as on the command
    # line; a stated or entered preprocessing instead where there is one.
    dataset = load_set(
        set_name, get_spec(model_name), id_set or set_name, data_root=root, config=config, roots=allowed_roots()
    )
    if title:
        dataset.title = title
    return evenly_spaced(dataset, limit)


def get_dataset(loaded: LoadedModel, set_name: str, id_set: str = "") -> ScoreDataset:
    """A dataset for the model in use (cached), sampled down to the sidebar's images-per-set,
    preprocessed as the model is (`LoadedModel.transform`: a stated or entered preprocessing, else
    the architecture's, normalized with the statistics of ``id_set``'s data where known); a user's
    folder titled by its path under the allowed folders (`set_title`), so two named alike read apart."""
    title = set_title(set_name) if Path(set_name).is_absolute() else ""  # a folder's; named sets keep theirs
    return _dataset(
        loaded.choice.name,
        set_name,
        defaults.data_root(),
        defaults.max_per_set(),
        id_set,
        loaded.choice.input_config,
        title,
    )


@dataclass(frozen=True)
class ScoringRequest:
    """What one scoring run depends on; plain values, it is the job's key."""

    model_key: tuple
    id_set: str
    ood_sets: tuple[str, ...]
    methods: tuple[str, ...]
    data_root: str
    limit: int
    # ODIN's, Energy's, ReAct's and GAIA's settings (they change the scores, so the key).
    settings: MethodSettings = field(default_factory=MethodSettings)

    @property
    def label(self) -> str:
        """Plain text naming the user's sets (escape it for Markdown)."""
        against = f" vs {', '.join(set_title(s) for s in self.ood_sets)}" if self.ood_sets else " (ID reference)"
        return f"Scoring {set_title(self.id_set)}{against}"


@dataclass
class Scored:
    """A finished scoring run."""

    request: ScoringRequest
    # Every method's scores and per-channel values per set, and the metrics per OOD set.
    result: BenchmarkResult
    # The methods as scored (ReAct fitted), to score new images the same way.
    methods: list[ScoreMethod]
    # Set title -> the dataset its table's ``index`` column refers to (for the images).
    datasets: dict[str, ScoreDataset]
    # `gaia_core.app_support.tables.combined_table` of all sets.
    table: pd.DataFrame
    # One line per method asked for that cannot score this model, left out ("GradNorm skipped: ...").
    skipped_methods: tuple[str, ...] = ()
    # What pages derive once per run, by their own key (Browse images' frame of every image).
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def settings_text(self) -> str:
        """The methods' settings as scored, one line ("ODIN T=1000 ε=0.0014 · Energy T=1 · ...")."""
        return MethodSettings.from_methods(self.methods).describe(self.result.methods)

    @functools.cached_property
    def twins(self) -> list[tuple[str, ...]]:
        """Twin layers (`gaia_core.app_support.twins.scored_twins`) over every scored set and
        GAIA method: found once per scoring run, not on every rerun of the pages that show them."""
        gaia = [m for m in GAIA_METHODS if m in self.result.id_scores.channels]
        return scored_twins([self.result.id_scores, *self.result.ood_scores.values()], gaia)


def make_request(loaded: LoadedModel, id_set: str, ood_sets: Sequence[str], methods: Sequence[str]) -> ScoringRequest:
    """The scoring of the session's sidebar settings (data root, images per set, the methods' settings)."""
    settings = defaults.method_settings(lambda method: paper_layers(loaded, method))
    return ScoringRequest(
        loaded.key, id_set, tuple(ood_sets), tuple(methods), defaults.data_root(), defaults.max_per_set(), settings
    )


def submit(loaded: LoadedModel, request: ScoringRequest, retry: bool = False) -> Job | None:
    """The job for ``request``: the one running or done (a failed one too, unless ``retry``),
    else a new one. None after showing why it cannot start."""
    runner = job_runner()
    existing = runner.get(request)
    if existing is not None and (not existing.finished or existing.ok or not retry):
        return existing
    id_name = request.id_set
    id_set = attempt(f"{set_title(id_name)} is not available", get_dataset, loaded, id_name, id_name)
    ood_sets = [attempt(f"{set_title(s)} is not available", get_dataset, loaded, s, id_name) for s in request.ood_sets]
    if id_set is None or any(s is None for s in ood_sets):
        return None
    misfit = labels_fit(id_set, loaded.model_classes)
    if misfit is not None:
        st.warning(escape_markdown(misfit), icon=":material/warning:")
        return None
    fit_set = None
    if needs_fit(request.methods) and default_fit_set(request.id_set) != request.id_set:  # no split read for nothing
        try:
            fit_set = get_dataset(loaded, default_fit_set(request.id_set), request.id_set)
        except DataError as err:
            st.warning(
                f"ReAct is fitted on the ID set itself: its training split is not available ({escape_markdown(one_line(err))})",
                icon=":material/warning:",
            )
    batch_size = defaults.batch_size()
    model, fingerprint = loaded.model, loaded.fingerprint
    spec = preprocessed_spec(loaded.spec, request.id_set, loaded.stated_config)
    names = {
        "model": model_label(loaded.choice.name),
        "checkpoint": loaded.choice.weights_name if loaded.choice.checkpoint else "",
    }
    by_name = dict(zip(request.ood_sets, ood_sets))
    groups = {
        group: [by_name[n].display_name for n in members]
        for group, members in sets.preset_groups(request.id_set, request.ood_sets).items()
    }

    def work(progress: Progress) -> Scored:
        cache = ScoreCache()
        run = run_benchmark(
            BenchmarkRequest(
                model,
                spec,
                id_set,
                tuple(ood_sets),
                request.methods,
                fit_set=fit_set,
                cache=cache,
                weights_id=fingerprint,
                batch_size=batch_size,
                progress=summed_progress(progress, [id_set, *ood_sets]),
                settings=request.settings,
            )
        )
        # Named in the cache, for the runs put side by side.
        record_run(cache, fingerprint, id_set, ood_sets, run.methods, keep_channels=True, groups=groups, **names)
        datasets = {d.display_name: d for d in (id_set, *ood_sets)}
        result = run.result
        table = combined_table(result.id_scores, result.ood_scores)
        return Scored(request, result, list(run.methods), datasets, table, run.skipped_methods)

    return runner.submit(request, work, label=request.label)


def scored_benchmark(loaded: LoadedModel) -> tuple[ScoringRequest | None, Job | None]:
    """The scoring this session asked for on the ID vs OOD page, and its job (if still known)."""
    request = st.session_state.get("scoring")
    if request is None or request.model_key != loaded.key:
        return None, None
    return request, job_runner().get(request)


def reference(loaded: LoadedModel) -> Scored | None:
    """The ID reference (every method on the ID set): the session's benchmark when it fits,
    else a reference run started in the background (its progress is shown)."""
    request, job = scored_benchmark(loaded)
    if job is not None and job.ok and set(request.methods) == set(ALL_METHODS):
        return warn_skipped(job.result)
    ensure_data_defaults(loaded.spec, loaded.model_classes)
    request = make_request(loaded, st.session_state["id_set"], (), ALL_METHODS)
    return warn_skipped(follow(submit(loaded, request), "reference_retry", lambda: submit(loaded, request, retry=True)))


def needs_benchmark(loaded: LoadedModel, page: str) -> Scored | None:
    """The session's finished benchmark, or an empty state (with progress or a way to start one)."""
    request, job = scored_benchmark(loaded)
    if request is not None and job is None:
        job = submit(loaded, request)  # the server forgot it (restart or eviction): score again
    if job is None:
        ensure_data_defaults(loaded.spec, loaded.model_classes)
        st.info(
            "Nothing is scored yet. Pick an ID set and OOD sets on **ID vs OOD** and press **Score**, "
            f"or score the current picks ({escape_markdown(set_title(st.session_state['id_set']))} vs "
            f"{', '.join(escape_markdown(set_title(s)) for s in st.session_state['ood_sets']) or 'no OOD set'}) "
            "from here.",
            icon=":material/info:",
        )
        if st.button("Score now", key=f"{page}_score", type="primary", disabled=not st.session_state["ood_sets"]):
            request = make_request(
                loaded, st.session_state["id_set"], st.session_state["ood_sets"], st.session_state["methods"]
            )
            if submit(loaded, request) is not None:
                st.session_state["scoring"] = request
                st.rerun()
        return None
    return warn_skipped(follow(job, f"{page}_retry", lambda: submit(loaded, request, retry=True)))


def warn_skipped(scored: Scored | None) -> Scored | None:
    """``scored``, after one warning line per method it left out because it cannot score this model."""
    for note in scored.skipped_methods if scored is not None else ():
        st.warning(escape_markdown(note), icon=":material/block:")
    return scored


@dataclass(frozen=True)
class ReadoutRequest:
    """Attribution readouts of every scored set; plain values, it is the job's key."""

    scoring: ScoringRequest
    method: str
    noise_tunnel: str | None
    max_samples: int


def submit_readouts(loaded: LoadedModel, scored: Scored, config: AttributionConfig, max_samples: int) -> Job:
    """The background job computing attribution-concentration readouts of up to ``max_samples``
    images per scored set; its result is set title -> `gaia_core.app_support.tables.Readouts`."""
    request = ReadoutRequest(scored.request, config.method, config.noise_tunnel, max_samples)
    datasets, model = dict(scored.datasets), loaded.model

    def work(progress: Progress) -> dict[str, Readouts]:
        total = sum(min(len(d), max_samples) for d in datasets.values())
        done, results = 0, {}
        for title, dataset in datasets.items():
            results[title] = attribution_readouts(
                model, dataset, config, max_samples, progress=lambda k, _n, base=done: progress(base + k, total)
            )
            done += min(len(dataset), max_samples)
        return results

    return job_runner().submit(request, work, label=f"{config.method} maps of {len(datasets)} sets")
