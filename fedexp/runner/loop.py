"""The round loop: each round's cohort in, its metrics recorded, until the last round or a
monitor's reason to stop.

A round is a few named steps, in this order: set the scheduled hyperparameters, run the
round, read its metrics (`round_metrics`), ask the monitors (`watch`), evaluate when due
(`evaluation_due`), then log it and move the progress bar.
"""

import logging
import math
import time
from typing import Any, NamedTuple, Optional

import tensorflow as tf
from tqdm import tqdm

import fedexp
from fedexp.data._sampling import cohorts, worker_part
from fedexp.runner.distributed import WorkerLost
from fedexp.runner.signals import uninterrupted
from fedexp.schedules import apply_schedules

logger = logging.getLogger("fedexp")


class Rounds(NamedTuple):
    """What the loop leaves: every round's metrics (with `round`), the final weights, why it
    stopped early (None: it ran every round), and its wall time."""

    history: list
    weights: Any
    stopped: Optional[str]
    seconds: float


def flatten(tree, sep, prefix=""):
    """{"a": {"b": 1}, "c": ()} -> {"a<sep>b": 1}: nested keys joined; empty tuples vanish, lists are values."""
    if hasattr(tree, "_asdict"):
        tree = tree._asdict()
    elif isinstance(tree, tuple):
        tree = {str(i): v for i, v in enumerate(tree)}
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out.update(flatten(v, sep, f"{prefix}{k}{sep}"))
        return out
    return {prefix[:-len(sep)]: tree}


def round_metrics(process, output, weights, tick) -> dict:
    """The round's measurements by block, its time since `tick`, the hyperparameters in force
    and the norm of the global model's `weights`, flattened with `/`."""
    metrics = {k: float(v) for k, v in flatten(output.metrics, "/").items()}
    seconds = metrics["time/round_seconds"] = time.perf_counter() - tick
    metrics["time/examples_per_second"] = metrics.get("client_work/train/num_examples", 0.0) / seconds
    metrics.update({f"hparams/{k}": float(v) for k, v in flatten(process.get_hparams(output.state), "/").items()})
    metrics["model/global_norm"] = float(tf.linalg.global_norm(list(weights.trainable)))
    return metrics


def watch(monitors, round_num, metrics) -> Optional[str]:
    """Adds every monitor's metrics to `metrics`; returns the first reason to stop, if any."""
    stop = None
    for monitor in monitors:
        report = monitor.after_round(round_num, metrics)
        metrics.update(report.metrics)
        stop = stop or report.stop
    return stop


def evaluation_due(round_num, rounds, eval_every, stopping) -> bool:
    """Every `eval_every` rounds (0: never on the way), and after the last round the run makes."""
    return round_num == rounds or bool(stopping) or bool(eval_every and round_num % eval_every == 0)


def headline(metrics):
    """The run's evaluation: centralized when there is one, else federated."""
    return "eval" if "eval/accuracy" in metrics else "eval_federated"


class Progress:
    """The progress bar: train accuracy, the last evaluation and the round's time."""

    def __init__(self, rounds, initial=0, disable=False):
        self.bar = tqdm(total=rounds, initial=initial, desc="fedexp", unit="round", disable=disable)
        self.last_eval = None

    def update(self, metrics):
        self.last_eval = metrics.get(f"{headline(metrics)}/accuracy", self.last_eval)
        postfix = {"train_acc": f"{metrics.get('client_work/train/accuracy', float('nan')):.3f}"}
        if self.last_eval is not None:
            postfix["eval_acc"] = f"{self.last_eval:.3f}"
        postfix["s/round"] = f"{metrics['time/round_seconds']:.3f}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update()

    def close(self):
        self.bar.close()


class Diverged(RuntimeError):
    """A round left a non-finite loss or model under `on_nonfinite: stop`; the message says which round and
    where the last good checkpoint is."""


def nonfinite(metrics, clients) -> Optional[str]:
    """Why a round cannot count, else None: the clients' training loss is not finite, every one of the
    `clients` sent a non-finite update (each was zeroed: nothing was learnt), the aggregate was not finite
    (the finalizer refused it), or the global model is not. (The global norm is finite exactly when every
    weight is, short of an overflow past 1e19.)"""
    loss, norm = metrics.get("client_work/train/loss", 0.0), metrics["model/global_norm"]
    dropped = int(metrics.get("client_work/non_finite_updates", 0))
    clients = int(metrics.get("client_work/clients/reported", clients))
    if not math.isfinite(loss):
        return f"training loss {loss} ({dropped} of {clients} clients' updates non-finite)"
    if dropped and dropped >= clients:
        return f"every client's update was non-finite ({dropped} of {clients})"
    if metrics.get("finalizer/update_non_finite"):
        return "the aggregated update was non-finite (the finalizer refused it)"
    if not math.isfinite(norm):
        return f"model weights non-finite (global norm {norm})"
    return None


def none_reported(output) -> bool:
    """True when clients failed to report (`dropout`) and none did (`client_work/clients/reported` = 0)."""
    clients = output.metrics.get("client_work", {}).get("clients")
    return clients is not None and int(clients["reported"]) == 0


def run_rounds(experiment, *, rounds, clients_per_round, seed, by_size, eval_every, device, log,
               on_nonfinite="stop", checkpoints=None, resume_from=None, split=None) -> Rounds:
    """Runs rounds 1..`rounds` of `experiment` from its initial state, or those after `resume_from`
    (a `Checkpoint`); `log(metrics, step)` records each round and `checkpoints` (a `Checkpointer`)
    saves them when due, and the last good round when a signal or a non-finite round ends the run.
    A non-finite round raises `Diverged` (`on_nonfinite="stop"`) or is dropped (`"skip_round"`: the
    state stays as before it, and `rounds/skipped` counts it). With `split` (a `DistributedRound`) this worker
    trains its part of each cohort; only rank 0 evaluates. A peer lost mid-round raises `WorkerLost`."""
    process = experiment.process
    step, part, lead = process.next, None, True
    if split is not None:
        step, lead = split, split.workers.rank == 0
        part = worker_part(clients_per_round, split.workers.rank, split.workers.count)
    if resume_from is None:
        state, history, seconds_before, stopped, first = process.initialize(), [], 0.0, None, 1
    else:
        state, history, seconds_before = resume_from.state, list(resume_from.history), resume_from.seconds
        stopped = resume_from.stopped  # a run a monitor ended stays ended (a privacy budget must not be overrun)
        first = rounds + 1 if stopped else resume_from.round + 1
    # The last round that ended whole, its state and its monitors' (which see a round before it ends).
    good = (len(history), state, [m.get_state() for m in process.monitors])
    skipped = int(max((h.get("rounds/skipped", 0) for h in history), default=0))
    weights = process.get_model_weights(state)
    start = time.perf_counter()

    def save(round_num, state, monitor_states, stopped=None):
        if checkpoints and round_num >= 1:
            with uninterrupted():
                return checkpoints.save(round_num, state, monitor_states, history[:round_num],
                                        seconds_before + time.perf_counter() - start, stopped)

    progress = Progress(rounds, initial=first - 1, disable=not lead)
    tick = time.perf_counter()
    try:
        for round_num, _, cohort in cohorts(experiment.data, clients_per_round, range(first, rounds + 1),
                                            seed=seed, by_size=by_size, device=device, part=part):
            scheduled = apply_schedules(process, state, experiment.schedules, round_num)
            output = step(scheduled, cohort)
            if none_reported(output):  # nothing to learn from: the round is a no-op
                logger.info(f"round {round_num}: no client reported; the state stays as it was")
                output = output._replace(state=state)
            weights = process.get_model_weights(output.state)
            metrics = round_metrics(process, output, weights, tick)
            stopped = watch(process.monitors, round_num, metrics)
            problem = nonfinite(metrics, clients_per_round)
            if problem and on_nonfinite == "stop":
                log(metrics, step=round_num)
                last = save(*good) and checkpoints.describe_last()
                raise Diverged(f"{problem} after round {round_num}; last good checkpoint: {last or 'none'}")
            if problem:
                skipped += 1
                weights = process.get_model_weights(state)
                metrics["rounds/skipped"] = float(skipped)
            else:
                state = output.state
            if lead and evaluation_due(round_num, rounds, eval_every, stopped):
                metrics.update(experiment.evaluate(weights, round_num))
            if round_num == 1:
                metrics["time/start_to_round_1_seconds"] = time.perf_counter() - fedexp.PROCESS_START
            log(metrics, step=round_num)
            history.append({"round": round_num, **metrics})
            good = (round_num, state, [m.get_state() for m in process.monitors])
            if checkpoints and (stopped or checkpoints.due(round_num, rounds)):
                save(*good, stopped)
            progress.update(metrics)
            if stopped:
                break
            tick = time.perf_counter()
    except (KeyboardInterrupt, WorkerLost):
        save(*good)
        raise
    finally:
        progress.close()
    if skipped:
        logger.info(f"{skipped} round(s) skipped with non-finite values (on_nonfinite=skip_round)")
    return Rounds(history, weights, stopped, seconds_before + time.perf_counter() - start)
