"""Test-session settings shared by every test module."""

import os

# The CLI sizes its tables to the terminal, or to 200 columns on a pipe (cli.out, decided at import). Tests read
# the pipe's tables whatever started them: pytest-xdist's workers inherit COLUMNS=80 from their runner.
os.environ.pop("COLUMNS", None)
