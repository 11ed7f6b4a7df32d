"""The one family of errors a user can cause: each command catches ``UserError`` and prints one line.

Every module's own error class (a bad painter file, an unreadable photo, a clip that cannot be written …)
derives from it, so a new error class can never slip past a command as a traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input or settings, reported as one line with exit status 2."""
