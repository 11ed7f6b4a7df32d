"""The jobs prepared for a short GPU lease: everything one lease should measure or train, in one command."""
