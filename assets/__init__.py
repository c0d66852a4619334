"""Package data of gaia_core, installed as ``gaia_core.assets``: the demo model's weights and
its report, and sample images of the demo's sets. Read through `gaia_core.demo`."""
