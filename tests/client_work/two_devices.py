"""Run as a script (TensorFlow must see two logical CPUs before it starts): prints the largest
difference between FedAvg on one device and FedAvg with the cohort split across two."""

import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

import fedexp  # noqa: E402
from fedexp.data._federated import FederatedData  # noqa: E402
from fedexp.model.mlp import build_mlp  # noqa: E402

batched = sys.argv[1] == "batched"
rng = np.random.default_rng(0)
sizes = [5, 31, 12, 3, 18]
data = FederatedData(rng.normal(size=(sum(sizes), 6)).astype(np.float32),
                     rng.integers(0, 3, sum(sizes)).astype(np.int32), sizes)
model_fn = build_mlp(input_shape=(6,), hidden_units=(8,), num_classes=3)
weights = fedexp.weights_type(model_fn())
states = []
for devices in ((), ("/CPU:0", "/CPU:1")):
    work = fedexp.build_model_delta_client_work(model_fn, fedexp.build_sgdm(learning_rate=0.1, momentum=0.9),
                                                batched=batched, devices=devices)
    process = fedexp.compose_learning_process(
        lambda: fedexp.ModelWeights.from_model(model_fn()), fedexp.build_broadcast_process(weights), work,
        fedexp.build_weighted_mean(weights.trainable),
        fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(learning_rate=1.0), weights))
    state = process.initialize()
    for r, clients in enumerate(([0, 1, 2, 3, 4], [4, 1, 3], [2])):  # the last: one device gets no client
        state = process.next(state, data.cohort(clients, batch_size=4, seed=r)).state
    states.append(state)
print(len(tf.config.list_logical_devices("CPU")),
      max(float(np.abs(a - b).max()) for a, b in zip(tf.nest.flatten(states[0]), tf.nest.flatten(states[1]))))
