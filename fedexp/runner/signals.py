"""SIGTERM (what `kill`, `timeout` and every cluster scheduler send) and SIGINT end a run the way
Ctrl-C does: the round in flight is abandoned, the last whole round is checkpointed, the MLflow run
is marked KILLED with everything logged so far and a tag naming the signal, and the command exits
with 128 + the signal's number. A second signal while that happens ends the process at once.

A signal that arrives while a record is being written (`uninterrupted`: a write to MLflow's store,
a checkpoint) takes effect when the write is done: cut in the middle, an SQLite transaction would
leave the store locked for the writes that mark the run KILLED.
"""

import contextlib
import signal
import threading

SIGNALS = (signal.SIGTERM, signal.SIGINT)
_writes = {"depth": 0, "pending": None}  # open `uninterrupted` blocks, and a signal that came during one


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
        if _writes["depth"]:
            _writes["pending"] = signum
        else:
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


@contextlib.contextmanager
def uninterrupted():
    """A signal during the block raises `Interrupted` when the block has ended."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _writes["depth"] += 1
    try:
        yield
    finally:
        _writes["depth"] -= 1
        if not _writes["depth"] and _writes["pending"]:
            signum, _writes["pending"] = _writes["pending"], None
            raise Interrupted(signum)
