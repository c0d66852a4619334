"""Score one batch with several methods, sharing forward passes and graphs."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from gaia_core.scores.base import ScoreMethod, ScoreResult
from gaia_core.scores.probe import ProbePlan, run_probe


def score_many(model: nn.Module, x: Tensor, methods: Sequence[ScoreMethod]) -> dict[str, ScoreResult]:
    """Scores of a batch for each method.

    Methods that share the forward pass run on one probe (one forward for all logit-based
    scores, one graph for GAIA-A and GAIA-Z); a second probe is made only when two methods
    need different pooled or head layers. ODIN runs its own passes.

    Args:
        model: classifier in eval mode.
        x: (B, C, H, W) normalized input on the model's device.
        methods: score methods with distinct names.

    Returns:
        dict method name -> ScoreResult, in the order of ``methods``.
    """
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError(f"score_many got the same method twice: {names}")
    groups: list[tuple[ProbePlan, list[ScoreMethod]]] = []
    results: dict[str, ScoreResult] = {}
    for method in methods:
        if not method.shares_forward:
            continue
        plan = method.plan(model)
        for i, (group_plan, members) in enumerate(groups):
            if group_plan.compatible(plan):
                groups[i] = (group_plan.merged(plan), [*members, method])
                break
        else:
            groups.append((plan, [method]))
    for plan, members in groups:
        probe = run_probe(model, x, plan)
        for method in members:
            results[method.name] = method.from_probe(probe)
        del probe
    for method in methods:
        if not method.shares_forward:
            results[method.name] = method(model, x)
    return {name: results[name] for name in names}
