"""``python -m lenasched``."""

import sys

from lenasched.cli.main import main

sys.exit(main())
