"""Magenta-compatible decoder-only SketchRNN with noise on the decoder state (paper sections 3.4 and 3.5).

Modules (one idea each; only ``model``, ``train``, ``sampling``, ``experiments`` and ``classify`` import TensorFlow,
``classify`` only when it trains or scores):

* ``hparams``: ``HParams`` with Magenta's names and defaults, plus ``sigma``; presets "quick" and "paper".
* ``data``: the sketch-rnn ``.npz`` format, Magenta's preprocessing (scale factor, stroke-5, padding,
  augmentation), the packaged Aaron Koblin sheep (``data.packaged_path()``, CC BY-NC 4.0, see data/LICENSE.md).
* ``strokes``: stroke geometry: Google's Quick, Draw! simplification (align, 0..255 box, resampling, RDP) and
  Magenta's lines -> stroke-3 convention.
* ``sources``: labelled sketches from Quick, Draw! ndjson (raw and simplified), sketch-rnn per-class ``.npz`` and
  Omniglot stroke archives; the packaged 11-class Quick, Draw! subset (CC BY 4.0).
* ``mixture``: the mixture-of-bivariate-Gaussians output, Magenta's reconstruction loss, sampling with a temperature.
* ``model``: ``SketchRNN``, an ensemble of decoder-only models with z_t ~ N(h_t, sigma^2).
* ``train``: Adam with Magenta's schedule and clipping, checkpoints, resume, best-validation weights, early stopping.
* ``sampling``: unconditional samples and continuations of prefixes.
* ``render``, ``figures``: sketches as SVG/PNG grids; the experiments' figures.
* ``experiments``: ``info_plane`` and ``samples`` (``predinfo sketch info-plane`` / ``predinfo sketch sample``).
* ``classify``: class-conditional models as a naive Bayes classifier against the noise level and the training-set
  size (``predinfo classify``, Figure 11).
"""
