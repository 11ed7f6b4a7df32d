"""The ``painters`` command: the one module above both ``infer`` and ``train``, handing each its own arguments.

Installed (``pip install .``), the shipped painters and their paintings come with it as package data
(``infer/checkpoints``): the command then works from any folder.
"""
