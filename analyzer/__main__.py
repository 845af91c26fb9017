"""`python -m analyzer` runs the command line."""

from .cli import app

app()
