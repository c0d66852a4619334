"""The one progress-callback type of gaia_core.

Long computations (scoring a data set, attribution over many images, background jobs) report
as ``progress(done, total)``: items finished so far and items in all, both ints.
"""

from collections.abc import Callable

Progress = Callable[[int, int], None]
