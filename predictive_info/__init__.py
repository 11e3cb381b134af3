"""predictive-info: the predictive information plane of sequence models (Dong, Oktay, Poole, Alemi).

Library modules (importable, no I/O side effects):
  ``gaussian_ib``  closed-form Gaussian information bottleneck and the optimal frontier (Appendix A.1)
  ``io``           atomic JSON / figure writing
Packages beside this one: ``bho`` (the oscillator), ``estimators`` (MI bounds), ``sketch_rnn_ext`` (sketches).
Units are nats everywhere.
"""
__version__ = "0.1.0"
