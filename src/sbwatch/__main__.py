"""``python -m sbwatch``."""

import sys

from sbwatch.cli import main

sys.exit(main())
