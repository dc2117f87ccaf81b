"""``python -m stability.cli``: the same as the ``stability`` console script."""

import sys

from . import main

sys.exit(main())
