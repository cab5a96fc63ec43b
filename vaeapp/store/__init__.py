"""Runs on disk: a run directory and its files (the one owner of them), the training events
they hold, untrusted checkpoints, metrics followed as they grow, and the models by name."""
