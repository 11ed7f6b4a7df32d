"""What is run from a clone, as ``python -m scripts.<room>.<name>`` from the project root (scripts/README.md).

Users: setup.sh, test.sh, demo.sh (demo.py), studio.sh; train_painters.py remakes the shipped family. Then
the rooms: bench/, experiments/, gpu/, pictures/, helpers/.
"""
