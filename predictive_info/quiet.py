"""Silence TensorFlow's start-up log noise for command-line users.

TensorFlow's C++ runtime prints CUDA probing messages to file descriptor 2 while it is imported, before any Python
logging configuration can take effect. ``import_tensorflow()`` sets the documented environment variables and, for the
duration of the import only, points descriptor 2 at ``/dev/null``. Library code never calls this: only the CLI does.
"""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_silenced():
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture or an odd stream: nothing to silence
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow (and Keras, TFP) with its start-up messages hidden; returns the ``tensorflow`` module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import tensorflow as tf  # noqa: F401
        import keras  # noqa: F401
        import tensorflow_probability  # noqa: F401
    tf.get_logger().setLevel("ERROR")
    return tf
