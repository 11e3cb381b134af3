"""Magenta-compatible decoder-only SketchRNN with noise on the decoder state (paper section 3.4, issue 6).

Modules (one idea each; only ``model``, ``train``, ``sampling`` and ``experiments`` import TensorFlow):

* ``hparams``: ``HParams`` with Magenta's names and defaults, plus ``sigma``; presets "quick" and "paper".
* ``data``: the sketch-rnn ``.npz`` format, Magenta's preprocessing (scale factor, stroke-5, padding,
  augmentation), the packaged Aaron Koblin sheep (``data.packaged_path()``, CC BY-NC 4.0, see data/LICENSE.md).
* ``mixture``: the mixture-of-bivariate-Gaussians output, Magenta's reconstruction loss, sampling with a temperature.
* ``model``: ``SketchRNN``, an ensemble of decoder-only models with z_t ~ N(h_t, sigma^2).
* ``train``: Adam with Magenta's schedule and clipping, checkpoints, resume, best-validation weights, early stopping.
* ``sampling``: unconditional samples and continuations of prefixes.
* ``render``, ``figures``: sketches as SVG/PNG grids; the experiments' figures.
* ``experiments``: ``info_plane`` and ``samples`` (``predinfo sketch info-plane`` / ``predinfo sketch sample``).
"""
