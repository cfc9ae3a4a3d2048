"""Plumbing shared by the training stages: presets, accelerate runs, checkpoints, data records."""
