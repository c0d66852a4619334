"""One run of a benchmark: fit the methods that need ID data, score every set, compute the metrics.

Every front-end that evaluates an ID set against OOD sets (the command line's ``evaluate``, the
app's scoring job) builds a `BenchmarkRequest` and calls `run_benchmark`; they differ only in how
they find the datasets and show the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from torch import nn

from gaia_core.data.base import ScoreDataset
from gaia_core.errors import ConfigError
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.fitting import fit_methods
from gaia_core.evaluation.model_facts import applicability, usable_methods
from gaia_core.evaluation.ood_tables import BenchmarkResult, evaluate_benchmark
from gaia_core.evaluation.paper import SetLayers, set_methods
from gaia_core.models import ModelSpec, weights_fingerprint
from gaia_core.progress import Progress
from gaia_core.scores import GaiaA, GaiaZ, ScoreMethod, create_for_model, method_class
from gaia_core.scores.applicability import ApplicabilityReport
from gaia_core.scores.settings import MethodSettings
from gaia_core.scores.taps import LayerError, resolve_layers

# Samples per forward pass, and samples of the fit set, unless a front-end is told otherwise.
BATCH_SIZE = 64
FIT_SAMPLES = 2000
# ID images the applicability check runs on.
APPLICABILITY_IMAGES = 4
# The GAIA methods, and the field of each that names the layers it takes its channels from.
GAIA_LAYER_FIELDS = {GaiaA.name: "inner_layers", GaiaZ.name: "layers"}

# ``progress(set title, samples done, samples in the set)``.
SetProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BenchmarkRequest:
    """Everything one benchmark run depends on."""

    # Classifier in eval mode, on the device the scoring runs on (left unchanged).
    model: nn.Module
    # The model's spec as the sets were preprocessed with (`spec_for_id_set` applied); ODIN's
    # perturbation is scaled by its std.
    spec: ModelSpec
    # In-distribution test set.
    id_set: ScoreDataset
    # OOD sets; the result names them by their ``display_name``.
    ood_sets: tuple[ScoreDataset, ...]
    # Score method names (`gaia_core.scores.available`), in the tables' order.
    methods: tuple[str, ...]
    # ID data the methods that need a fit (ReAct) are fitted on; None = the ID set itself.
    fit_set: ScoreDataset | None = None
    # At most this many samples of the fit set are used, evenly spread.
    fit_samples: int = FIT_SAMPLES
    # Dotted layer names GAIA-Z taps and GAIA-A takes as its inner layers; None = each one's default.
    layers: tuple[str, ...] | None = None
    # The authors' per-OOD-set layer switches (`gaia_core.evaluation.paper.SetLayers`); () = none.
    set_layers: tuple[SetLayers, ...] = ()
    # ODIN's, Energy's, ReAct's and GAIA's settings (`MethodSettings`); ``layers`` wins over its GAIA layers.
    settings: MethodSettings = field(default_factory=MethodSettings)
    # Group ("near", "far") -> names of OOD sets, for group averages; empty = no groups.
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Where scores and fits are stored and looked up; None = neither read nor written.
    cache: ScoreCache | None = None
    # The model's `weights_fingerprint` when the caller has it (hashing the weights takes time).
    weights_id: str | None = None
    # Samples per forward pass.
    batch_size: int = BATCH_SIZE
    # DataLoader worker processes; None = 0 for in-memory sets, else up to 4.
    num_workers: int | None = None
    # Keep every sample's per-channel GAIA values (charts, reports), not only their statistics.
    keep_channels: bool = True
    # Told each set's progress while it is scored; None = silent.
    progress: SetProgress | None = None


@dataclass(frozen=True)
class BenchmarkRun:
    """A finished benchmark run."""

    # Every method's scores per set and its metrics per OOD set.
    result: BenchmarkResult
    # The methods as scored (fitted where they need it), to score further inputs the same way.
    methods: tuple[ScoreMethod, ...]
    # One line per method asked for that cannot score this model ("GradNorm skipped: ..."), left out.
    skipped_methods: tuple[str, ...] = ()


def needs_fit(methods: Sequence[str]) -> bool:
    """Whether any of the named methods is fitted on ID data before it scores (ReAct)."""
    return any(method_class(name).needs_fit for name in methods)


def request_methods(request: BenchmarkRequest) -> list[ScoreMethod]:
    """The request's methods, configured for its model: the input std (ODIN), its settings and its GAIA layers.

    Raises:
        LayerError: a layer of ``request.layers`` is not in the model.
        ConfigError: layers are given but neither GAIA method is asked for.
    """
    names = list(request.methods)
    configs = {name: request.settings.method_kwargs(name) for name in names}
    if request.layers is not None:
        if not set(GAIA_LAYER_FIELDS) & set(names):
            raise ConfigError(f"layers are given, but they are only for GAIA-A and GAIA-Z and neither is among {names}")
        layers = tuple(resolve_layers(request.model, request.layers, []))
        for name in set(GAIA_LAYER_FIELDS) & set(names):
            configs[name][GAIA_LAYER_FIELDS[name]] = layers
    return [create_for_model(name, request.spec.std, **configs[name]) for name in names]


def run_benchmark(request: BenchmarkRequest) -> BenchmarkRun:
    """Fit the methods that need it on the fit set, score the ID set and every OOD set through the
    cache, and compute every method's metrics per OOD set.

    Under an initialized process group (torchrun) every process must call this with the same
    request; each scores its share and every process gets the whole result.

    A method that cannot apply to the model (`gaia_core.scores.applicability.applicable_methods`,
    tried on the first ID images) is left out with its line in ``skipped_methods``, the others scored.

    Raises:
        LayerError, ConfigError: see `request_methods`; LayerError too when no method asked for applies.
        EmptyDatasetError: a set (or the fit set) has no readable sample.
        LabelMismatchError: the ID labels do not fit the model's classes.
    """
    methods = request_methods(request)
    weights_id = request.weights_id
    if request.cache is not None and weights_id is None:
        weights_id = weights_fingerprint(request.model)
    methods, skipped = usable_methods(
        request.model, request.id_set, methods, request.cache, weights_id, APPLICABILITY_IMAGES
    )
    if not methods:
        raise LayerError(f"none of the methods asked for can score this model: {'; '.join(skipped)}")
    methods = fit_methods(
        request.model,
        methods,
        request.id_set if request.fit_set is None else request.fit_set,
        max_samples=request.fit_samples,
        batch_size=request.batch_size,
        num_workers=request.num_workers,
        cache=request.cache,
        weights_id=weights_id,
    )
    result = evaluate_benchmark(
        request.model,
        request.id_set,
        request.ood_sets,
        methods,
        groups=request.groups,
        set_methods=set_methods(methods, request.set_layers),
        progress=request.progress,
        batch_size=request.batch_size,
        num_workers=request.num_workers,
        cache=request.cache,
        keep_channels=request.keep_channels,
        weights_id=weights_id,
    )
    return BenchmarkRun(result, tuple(methods), skipped)


def summed_progress(progress: Progress, datasets: Sequence[ScoreDataset]) -> SetProgress:
    """A `SetProgress` that tells ``progress(done, total)`` the samples done over all ``datasets``
    together; it reports ``(0, total)`` at once."""
    total = sum(len(d) for d in datasets)
    done: dict[str, int] = {}
    progress(0, total)

    def report(title: str, finished: int, _in_set: int) -> None:
        done[title] = finished
        progress(sum(done.values()), total)

    return report


def id_set_applicability(
    model: nn.Module,
    id_set: ScoreDataset,
    images: int = APPLICABILITY_IMAGES,
    cache: ScoreCache | None = None,
    weights_id: str | None = None,
) -> ApplicabilityReport | None:
    """`check_applicability` on the first readable images of the ID set, remembered in ``cache``
    per weights and set (`gaia_core.evaluation.model_facts.applicability`); None when none is readable."""
    return applicability(model, id_set, cache, weights_id, images)
