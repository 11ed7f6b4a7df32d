"""``python -m painters``: the ``painters`` command from a clone."""

import sys

from painters.cli import main

sys.exit(main())
