"""`python -m ecsgen` runs the ecsgen command line."""

from .cli import main

main()
