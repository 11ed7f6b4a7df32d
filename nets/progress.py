"""Progress bars that suit a terminal and a log file alike.

In a terminal a bar redraws up to ten times a second; written to a file (stderr not a terminal) every
redraw would be a new line, so there it redraws every ten seconds at most.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_bar(iterable: Any = None, **options: Any) -> tqdm:
    """``tqdm`` with the redraw interval chosen for where stderr goes."""
    interactive = sys.stderr.isatty()
    return tqdm(iterable, mininterval=0.1 if interactive else 10.0, dynamic_ncols=interactive, **options)
