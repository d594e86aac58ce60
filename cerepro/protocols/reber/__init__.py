"""Experiment 1 (Section 5.1, Table 1): the embedded Reber grammar. settings.py: ReberRow; trial.py: run_trial;
kernel.py: the compiled training loop and success test (docs/paper.md, Exp 1)."""
