"""Experiments: declarative descriptions of what to train and what to measure, built from library pieces.

Each experiment module has a preset table (``quick``: minutes on 2 CPU cores; ``paper``: the paper's sizes) and a
``run(...)`` that writes its results folder, resuming from what an interrupted run left there.
"""
