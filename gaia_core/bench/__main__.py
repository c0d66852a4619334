"""``python -m gaia_core.bench``."""

from gaia_core.bench import main

raise SystemExit(main())
