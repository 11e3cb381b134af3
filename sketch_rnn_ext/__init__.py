"""Magenta-compatible decoder-only SketchRNN with hidden-state noise, sketch data and a classifier (issues 6-7)."""
