"""Widgets several pages share: attribution pickers and grids (`attribution`), image galleries
(`gallery`), one image's detail (`image_detail`), its per-layer percentiles (`layer_percentiles`),
the GAIA applicability warning (`applicability`), and shared formats (`formats`)."""
