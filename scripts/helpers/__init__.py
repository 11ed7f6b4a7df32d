"""What tests and benchmarks share: clips with exactly known motion, and the studio driven in Chromium."""
