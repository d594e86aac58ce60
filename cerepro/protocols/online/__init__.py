"""Experiments 3-6 (Sections 5.3-5.6, Tables 4-9) and the delayed XOR: fresh sequences, error at the end.
settings.py: OnlineRow; trial.py: run_trial, test_net; kernel.py: the compiled loop and stop rules."""
