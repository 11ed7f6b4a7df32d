"""Networks and differentiable pieces shared by training, inference and the reference mode.

Nothing here knows about command lines or files beyond the painter checkpoint format.
"""
