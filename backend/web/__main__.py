"""``python -m backend.web``: the dashboard server on its own (see server.py)."""

import sys

from .server import main

sys.exit(main())
