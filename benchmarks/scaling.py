"""How a fedexp round scales: with clients per round, and with the population.

    python benchmarks/scaling.py [--rounds 5] [--model linear]

Synthetic data shaped like EMNIST (28x28 pixels stored as 784 float32 values, 10 classes,
100 examples per client); FedAvg as in round_time.py. Reports, as a Markdown table and JSON
lines: seconds to build the federated dataset, the median round time for 10, 50, 100 and
500 clients per round (population 3,400, EMNIST's writer count) and for 10 clients per round
over populations of 50, 500 and 3,400, and the peak resident memory against the raw data
plus the model.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import fedexp  # noqa: E402
from fedexp.data._federated import FederatedData  # noqa: E402
from fedexp.data.partition.iid import iid_partition  # noqa: E402
from fedexp.model.linear import build_linear  # noqa: E402
from fedexp.model.mlp import build_mlp  # noqa: E402

EXAMPLES, BATCH = 100, 20


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(num_clients, seed=0):
    rng = np.random.default_rng(seed)
    n = num_clients * EXAMPLES
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int32)


def round_seconds(process, data, per_round, rounds):
    state = process.initialize()
    times = []
    for r in range(rounds + 1):  # round 0 warms up (XLA compiles for a new cohort shape)
        tick = time.perf_counter()
        clients = np.random.default_rng([0, r]).choice(data.num_clients, per_round, replace=False)
        output = process.next(state, data.cohort(clients, batch_size=BATCH, seed=r))
        state = output.state
        float(output.metrics["client_work"]["train"]["loss"])
        if r:
            times.append(time.perf_counter() - tick)
    return statistics.median(times)


def main(args):
    model_fn = {"linear": build_linear(), "mlp": build_mlp()}[args.model]
    process = fedexp.build_weighted_fed_avg(model_fn, fedexp.build_sgdm(learning_rate=0.02))
    model_mb = sum(np.prod(v.shape) * 4 for v in model_fn().trainable_variables) / 2**20
    rows = []
    before = peak_rss_mb()
    x, y = synthetic(3400)
    raw_mb = (x.nbytes + y.nbytes) / 2**20
    tick = time.perf_counter()  # a real split: 3,400 clients' examples scattered over the raw arrays
    data = FederatedData.from_partition(x, y, iid_partition(len(x), 3400, np.random.default_rng(0)))
    build_s = time.perf_counter() - tick
    del x, y
    for per_round in (10, 50, 100, 500):
        rows.append({"population": 3400, "clients_per_round": per_round,
                     "round_s": round_seconds(process, data, per_round, args.rounds)})
    for population in (50, 500):
        x, y = synthetic(population, seed=population)
        small = FederatedData(x, y, [EXAMPLES] * population)
        rows.append({"population": population, "clients_per_round": 10,
                     "round_s": round_seconds(process, small, 10, args.rounds)})
    summary = {"model": args.model, "build_3400_clients_s": build_s, "raw_data_mb": raw_mb, "model_mb": model_mb,
               "peak_rss_growth_mb": peak_rss_mb() - before, "rows": rows}
    print(json.dumps(summary), file=sys.stderr)
    print(f"{args.model}: built a 3,400-client dataset ({raw_mb:.0f} MB raw) in {build_s:.2f} s; "
          f"peak memory grew {summary['peak_rss_growth_mb']:.0f} MB for {raw_mb + model_mb:.0f} MB of data + model "
          f"({summary['peak_rss_growth_mb'] / (raw_mb + model_mb):.2f}x)\n")
    print("| population | clients per round | s/round | s/round per client |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['population']} | {r['clients_per_round']} | {r['round_s']:.4f} | "
              f"{r['round_s'] / r['clients_per_round']:.5f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", choices=["linear", "mlp"], default="linear")
    main(parser.parse_args())
