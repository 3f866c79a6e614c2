"""SIGTERM (what `kill`, `timeout` and every cluster scheduler send) and SIGINT end a run the way
Ctrl-C does: the round in flight is abandoned, the MLflow run is marked KILLED with everything
logged so far and a tag naming the signal, and the command exits with 128 + the signal's number.
A second signal while that happens ends the process at once."""

import contextlib
import signal

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(KeyboardInterrupt):
    """A run ended by a signal; `signum` says which."""

    def __init__(self, signum):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


@contextlib.contextmanager
def interruptible():
    """While the block runs, SIGTERM and SIGINT raise `Interrupted` in the main thread (a job that
    Hydra runs in another thread keeps the handlers it has)."""
    def handler(signum, frame):
        for s in SIGNALS:  # a second signal: the default action, which ends the process
            signal.signal(s, signal.SIG_DFL)
        raise Interrupted(signum)

    try:
        previous = {s: signal.signal(s, handler) for s in SIGNALS}
    except ValueError:  # not the main thread
        previous = {}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
