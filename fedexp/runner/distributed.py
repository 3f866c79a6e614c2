"""One experiment across worker processes: each trains its share of every round's cohort, one
all-reduce per round merges the shares, and every worker applies the same server step.

    fedexp distributed.workers=2 …                       # starts 2 workers on this machine
    fedexp distributed.workers=2 distributed.rank=R …    # worker R, peers from TF_CONFIG or distributed.peers

The engine is TensorFlow's own collectives (`tf.distribute.MultiWorkerMirroredStrategy`, workers
given by `TF_CONFIG` as in TensorFlow's multi-worker guide): nothing to install, and the merge
stays in the TF runtime. Each worker samples the round's cohort from the seed and the round, as a
single process would, and packs its own contiguous part (`worker_part`). The split round
(`fedexp.templates.split_round`) reduces the part to the aggregator's partial and the
measurements' sums; `all_sum` merges them, one all-reduce per dtype.

A worker that stops answering fails the others' next all-reduce after `timeout_seconds` (TF's
heartbeats); a peer that never joins is reported after `startup_seconds` by a watchdog, since
TensorFlow's start-up waits for ever, holding the GIL, and ignores SIGTERM. Rank 0 alone logs to MLflow, evaluates
and writes checkpoints; a resumed group loads the checkpoint on every worker.
"""

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import zlib
from typing import NamedTuple

from omegaconf import OmegaConf

from fedexp import checks

PER_WORKER = ("distributed.rank=", "distributed.peers=")  # overrides that differ between a group's workers


class WorkerLost(RuntimeError):
    """A peer stopped answering during a round."""


def validate(section):
    """Checks `distributed.*` (before TensorFlow starts)."""
    workers = checks.integer("distributed.workers", section.get("workers"), at_least=1)
    if section.get("rank") is not None:
        checks.integer("distributed.rank", section.rank, at_least=0, at_most=workers - 1)
    peers = section.get("peers")
    if peers is not None:
        peers = OmegaConf.to_object(peers) if OmegaConf.is_config(peers) else peers
        checks.require("distributed.peers", peers, isinstance(peers, list) and len(peers) == workers
                       and all(isinstance(p, str) and p.rpartition(":")[2].isdigit() for p in peers),
                       f"a list of {workers} host:port addresses, one per worker in rank order")
    for key in ("timeout_seconds", "startup_seconds"):
        checks.number(f"distributed.{key}", section.get(key), above=0)


def cluster(section):
    """(rank, peers) of this process: `distributed.rank`/`peers`, else TF_CONFIG's task and cluster;
    None if this process is to start the workers itself."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    rank = section.rank if section.rank is not None else tf_config.get("task", {}).get("index")
    if rank is None:
        return None
    peers = list(section.peers or tf_config.get("cluster", {}).get("worker", []))
    if len(peers) != section.workers:
        checks.refuse("distributed.peers", f"worker {rank} of {section.workers} needs every worker's host:port: "
                                           f"set distributed.peers=[…] or TF_CONFIG's cluster (found {len(peers)})")
    return rank, peers


class Workers:
    """This process's place in the group, and the group's all-reduce."""

    def __init__(self, rank, peers, *, timeout_seconds, startup_seconds, config_digest):
        self.rank, self.count = rank, len(peers)
        os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": peers}, "task": {"type": "worker", "index": rank}})
        others = ", ".join(p for i, p in enumerate(peers) if i != rank)
        watchdog = start_watchdog(startup_seconds, f"fedexp: error: worker {rank}: the other workers ({others}) did not "
                                  f"all join within distributed.startup_seconds={startup_seconds:g}; start each with "
                                  f"the same command and its distributed.rank")
        import tensorflow as tf  # after TF_CONFIG; before any other TensorFlow op (collectives require it)
        logging.getLogger("tensorflow").setLevel(logging.WARNING)  # its INFO lines on setting up the strategy
        self._tf = tf
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout_seconds))
        # Compiled: 2 ms for a small vector, against 8-10 ms eagerly. One all-reduce per call, called in
        # the same order on every worker.
        self._sum = tf.function(lambda flat: strategy.reduce(tf.distribute.ReduceOp.SUM,
                                                             strategy.run(tf.identity, (flat,)), axis=None))
        total = int(self.all_sum(tf.constant(config_digest, tf.int64)))
        watchdog.stdin.close()  # joined: the watchdog ends quietly
        watchdog.wait()
        if total != config_digest * self.count:
            checks.refuse("distributed", "the workers were started with different configs: start every worker "
                                         "with the same command, only distributed.rank differing")

    def all_sum(self, values):
        """`values` (a nest of tensors) summed over the workers: one all-reduce per dtype."""
        tf = self._tf
        leaves = tf.nest.flatten(values)
        merged = list(leaves)
        for dtype in sorted({v.dtype for v in leaves}, key=lambda d: d.name):  # the same order on every worker
            chosen = [i for i, v in enumerate(leaves) if v.dtype == dtype]
            flat = tf.concat([tf.reshape(leaves[i], [-1]) for i in chosen], 0)
            try:
                total = self._sum(flat)
            except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
                    tf.errors.InternalError, tf.errors.AbortedError) as e:
                raise WorkerLost(f"worker {self.rank}: a peer stopped answering, or was busy longer than "
                                 f"distributed.timeout_seconds (rank 0 evaluating, say): {first_line(e.message)}") from None
            pieces = tf.split(total, [leaves[i].shape.num_elements() for i in chosen])
            for i, piece in zip(chosen, pieces):
                merged[i] = tf.reshape(piece, tf.shape(leaves[i]))
        return tf.nest.pack_sequence_as(values, merged)


class DistributedRound:
    """`process.next` for this worker's part of the cohort: local, all-sum, finish. Its metrics add
    `distributed/workers` and `distributed/bytes_sent`, what each worker sends per round (a ring all-reduce
    of P bytes sends 2 (W - 1) / W x P from each of W workers)."""

    def __init__(self, process, workers):
        from fedexp.templates import bytes_of  # (this module is read before TensorFlow starts: config checks)
        self.split, self.workers = process.split_round(), workers
        local = self.split.local.result_type
        payload = bytes_of((local["partial"], local["sums"]))
        self.measured = {"workers": float(workers.count), "bytes_sent": 2 * (workers.count - 1) / workers.count * payload}

    def __call__(self, state, cohort):
        out = self.split.local(state, cohort)
        partial, sums = self.workers.all_sum((out["partial"], out["sums"]))
        output = self.split.finish(state, out["states"], partial, sums)
        output.metrics["distributed"] = self.measured
        return output


def first_line(text):
    """The first line of a TensorFlow error's message, without the function it was raised in."""
    lines = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", str(text)).strip().splitlines()
    return lines[0] if lines else "no message"


WATCHDOG = """
import os, select, sys
seconds, message, pid = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if not select.select([sys.stdin], [], [], seconds)[0]:
    print(message, file=sys.stderr, flush=True)
    os.kill(pid, 9)
"""


def start_watchdog(seconds, message) -> subprocess.Popen:
    """A process that prints `message` and kills this one (SIGKILL) after `seconds`, unless its stdin closes
    first (this process joined its group, or ended). A process, not a thread: while TensorFlow waits for the
    other workers it holds the GIL, so no Python thread or signal handler of this process runs, and it
    ignores SIGTERM."""
    return subprocess.Popen([sys.executable, "-I", "-c", WATCHDOG, str(seconds), message, str(os.getpid())],
                            stdin=subprocess.PIPE)


def digest(cfg) -> int:
    """A checksum of the resolved config without what differs between a group's workers."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain["distributed"] = {k: v for k, v in plain["distributed"].items() if k not in ("rank", "peers")}
    plain.pop("resume", None)
    return zlib.crc32(json.dumps(plain, sort_keys=True, default=str).encode())


class Group(NamedTuple):
    """Worker processes this command started on this machine."""

    processes: list

    def wait(self) -> int:
        """Waits for every worker; returns 0, or the first failing worker's exit code (by rank)."""
        codes = [p.wait() for p in self.processes]
        for rank, code in enumerate(codes):
            if code:
                how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
                print(f"fedexp: worker {rank} ended with {how}", file=sys.stderr, flush=True)
        failed = [c for c in codes if c]
        return 0 if not failed else (failed[0] if failed[0] > 0 else 128 - failed[0])

    def forward(self, signum, frame=None):
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signum)


def free_ports(n) -> list:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def peers_override(peers) -> str:
    """`distributed.peers=[…]` as a command-line override (quoted: a host:port is not a bare Hydra value)."""
    return f"distributed.peers=[{','.join(repr(p) for p in peers)}]"


def start_local(workers, task_overrides, run_dir, env=None) -> Group:
    """Starts `workers` processes of this command on 127.0.0.1 (free ports), worker r with
    `distributed.rank=r`; rank 0 writes into `run_dir`, the others into `run_dir/workers/<r>`."""
    peers = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    base = [o for o in task_overrides if not o.startswith(PER_WORKER)]
    processes = []
    for rank in range(workers):
        folder = run_dir if rank == 0 else os.path.join(run_dir, "workers", str(rank))
        command = [sys.executable, "-m", "fedexp", *base, f"distributed.rank={rank}", peers_override(peers),
                   f"hydra.run.dir={folder}"]
        # The machine's cores shared out, as each worker would have on a machine of its own.
        threads = {"TF_NUM_INTRAOP_THREADS": str(max(1, (os.cpu_count() or 1) // workers))}
        # Their own session: Ctrl-C reaches them once, forwarded by this process (`Group.forward`), not also
        # from the terminal (a second signal ends a run without its checkpoint).
        processes.append(subprocess.Popen(command, env={**threads, **os.environ, **(env or {})},
                                          start_new_session=True))
    return Group(processes)
