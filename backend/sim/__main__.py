"""``python -m backend.sim --seeds 1-1000``; see :mod:`backend.sim.cli`."""

import sys

from .cli import main

sys.exit(main())
