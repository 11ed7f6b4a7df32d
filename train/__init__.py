"""Training one feed-forward painter: ``python -m train --help``."""
