"""The round loop: each round's cohort in, its metrics recorded, until the last round or a
monitor's reason to stop.

A round is a few named steps, in this order: set the scheduled hyperparameters, run the
round, read its metrics (`round_metrics`), ask the monitors (`watch`), evaluate when due
(`evaluation_due`), then log it and move the progress bar.
"""

import time
from typing import Any, NamedTuple, Optional

import tensorflow as tf
from tqdm import tqdm

import fedexp
from fedexp.data._sampling import cohorts
from fedexp.schedules import apply_schedules


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

    def __init__(self, rounds):
        self.bar = tqdm(total=rounds, desc="fedexp", unit="round")
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


def run_rounds(experiment, *, rounds, clients_per_round, seed, by_size, eval_every, device, log) -> Rounds:
    """Runs rounds 1..`rounds` of `experiment` from its initial state; `log(metrics, step)`
    records each round."""
    process = experiment.process
    history, stopped = [], None
    start = time.perf_counter()
    state = process.initialize()
    progress = Progress(rounds)
    tick = time.perf_counter()
    for round_num, _, cohort in cohorts(experiment.data, clients_per_round, range(1, rounds + 1), seed=seed,
                                        by_size=by_size, device=device):
        state = apply_schedules(process, state, experiment.schedules, round_num)
        output = process.next(state, cohort)
        state = output.state
        weights = process.get_model_weights(state)
        metrics = round_metrics(process, output, weights, tick)
        stopped = watch(process.monitors, round_num, metrics)
        if evaluation_due(round_num, rounds, eval_every, stopped):
            metrics.update(experiment.evaluate(weights, round_num))
        if round_num == 1:
            metrics["time/start_to_round_1_seconds"] = time.perf_counter() - fedexp.PROCESS_START
        log(metrics, step=round_num)
        history.append({"round": round_num, **metrics})
        progress.update(metrics)
        if stopped:
            break
        tick = time.perf_counter()
    progress.close()
    return Rounds(history, weights, stopped, time.perf_counter() - start)
