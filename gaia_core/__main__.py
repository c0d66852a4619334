"""``python -m gaia_core``: the command line (see `gaia_core.cli`)."""

import sys

from gaia_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
