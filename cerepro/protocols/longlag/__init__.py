"""Experiment 2 (Section 5.2, Tables 2 and 3): long time lags, tasks 2a, 2b and 2c. settings.py: LongLagRow;
trial.py: run_trial, final_test, passing; source.py: the sequences of a trial's streams; kernel.py: the
compiled loop, the success test, sequential construction."""
