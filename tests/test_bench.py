"""What the benchmarks themselves decide (their figures come from running them, not from tests)."""

from __future__ import annotations

from scripts.bench.cpu_limit import against_limit, limit_cell


def test_a_figure_above_the_limit_of_its_own_run_is_flagged():
    """7.12 frames/s at 720p for a network of 247 G op a frame is 1.76 T op/s: above a 936 G op/s bf16 peak,
    so what was timed was not that network; a real share of the limit passes unflagged."""
    made_up = {"gops": 7.12 * 247.0} | against_limit(7.12 * 247.0, 936.0)
    assert made_up["above_limit"] and "above the limit" in limit_cell(made_up)
    real = against_limit(2.75 * 247.0, 936.0)
    assert not real["above_limit"] and limit_cell(real) == "0.73"
