"""The command's output is fedexp's own: the lines TensorFlow's native code writes while it starts
(absl's pre-init warning, "Could not find cuda drivers", an error-level "failed call to cuInit" on a
machine without a GPU) and MLflow's INFO lines are held back unless the user asks for more with
Hydra's `hydra.verbose=true`. What is held back is shown after all if starting TensorFlow fails.
"""

import contextlib
import os
import sys
import tempfile


def set_log_levels(verbose):
    """TensorFlow's C++ and MLflow's Python log levels, for this process and the jobs it starts
    (a variable the user set stays as set)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "2")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "INFO" if verbose else "WARNING")


@contextlib.contextmanager
def native_output_held(show=False):
    """What is written to the process's stderr (file descriptor 2, where native code writes) inside the
    block is kept in a temporary file, then dropped; written out after all when `show` or the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    failed = False
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if show or failed:
                held.seek(0)
                sys.stderr.write(held.read().decode(errors="replace"))
                sys.stderr.flush()


def start_tensorflow(verbose=False):
    """Imports TensorFlow and looks for GPUs (the two steps that write start-up lines), holding their
    output back unless `verbose`."""
    with native_output_held(show=bool(verbose)):
        import tensorflow as tf
        tf.config.list_physical_devices("GPU")
