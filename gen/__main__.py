"""`python -m gen` runs the ecsgen command line."""

from gen.cli import main

main()
