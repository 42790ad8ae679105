"""`python -m hone` runs the command line."""

from hone.cli import entrypoint

entrypoint()
