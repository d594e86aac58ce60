"""Gers, Schmidhuber & Cummins (2000) Table 2: the continual embedded Reber grammar (CERG). settings.py:
CergRow; trial.py: run_trial; kernel.py: the continual stream loop (docs/paper.md, CERG)."""
