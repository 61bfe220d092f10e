"""``python -m lenasched``."""

import sys

from .cli import main

sys.exit(main())
