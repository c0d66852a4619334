"""GAIA Explorer's library: OOD scores from attribution-gradient abnormality.

`gaia_core` does all the math (scores, models, data, charts, attribution) and never
imports streamlit. The score convention lives in `gaia_core.scores`.
"""

__version__ = "0.1.0"
