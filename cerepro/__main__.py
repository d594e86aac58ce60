"""`python -m cerepro` is the `cerepro` command."""

from cerepro.cli import main

main(prog_name="cerepro")
