"""Training: the trainer's loop, what a machine can run (devices, precisions, processes),
torchrun's processes, the per-epoch pictures, and training as a background job. Writes runs
through the store."""
