"""`python -m gaia_core layers`: each layer alone in network order, the default, a held-out subset."""

import pandas as pd

from gaia_core.cli import main
from gaia_core.evaluation.layer_lab import layer_candidates
from gaia_core.models import load_model
from gaia_core.scores.taps import default_gaia_z_layers


def test_layers_prints_every_layer_in_network_order_and_a_held_out_subset(capsys, tmp_path):
    csv = tmp_path / "layers.csv"
    code = main(
        [
            "layers",
            "--model",
            "demo",
            "--ood",
            "noise",
            "letters",
            "--limit",
            "40",
            "--no-progress",
            "--no-cache",
            "--csv",
            str(csv),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    layers = default_gaia_z_layers(load_model("demo", device="cpu"))
    # Twin layers (a block's last norm and its shortcut's) are one row, "a = b", at the first one's place.
    rows = [
        " = ".join(c)
        for c in layer_candidates(layers, [(f"layer{i}.0.bn2", f"layer{i}.0.downsample.1") for i in (2, 3, 4)])
    ]
    positions = [out.index(f"\n{row} ") for row in rows]
    assert positions == sorted(positions)  # network order
    assert "greedy subset chosen on half the images" in out and "default auroc" in out
    table = pd.read_csv(csv)
    assert list(dict.fromkeys(table["layer"])) == layers and set(table["set"]) == {"noise", "letters", "Average"}
    # Issue 22 item 15: in percent, the unit in the column names, as every CSV.
    assert {"auroc (%)", "fpr95 (%)"} <= set(table.columns) and table["auroc (%)"].max() > 1


def test_layers_refuses_a_bad_k_in_one_line(capsys):
    code = main(["layers", "--model", "demo", "--ood", "noise", "--k", "0"])
    assert code == 2 and capsys.readouterr().err.strip() == "gaia: error: --k must be at least 1 (got 0)"
