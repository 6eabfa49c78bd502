"""`python -m harness`: the same CLI as the `harness` console script."""

from harness.cli.app import main

main()
