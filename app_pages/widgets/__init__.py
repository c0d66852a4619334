"""Widgets several pages share: attribution pickers and grids (`attribution_views`), image
galleries (`gallery`), one image's detail (`image_detail`), its per-layer percentiles
(`layer_percentile_charts`), the GAIA applicability warning (`applicability_note`), and shared
formats (`formats`)."""
