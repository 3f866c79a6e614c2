"""TFF's tutorials' algorithm calls, written as the tutorials write them with `tff.learning` replaced by
`fedexp`, on the embedded digits in the tutorials' per-client `tf.data` form."""

import collections

import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.data.digits import build_digits

NUM_CLIENTS, NUM_EPOCHS, BATCH_SIZE, SHUFFLE_BUFFER, PREFETCH_BUFFER = 10, 5, 20, 100, 10


@pytest.fixture(scope="module")
def split():
    return build_digits(num_clients=20, seed=0, cache_dir=None)


def create_tf_dataset_for_client(split, client):
    """A client's examples as TFF's EMNIST `ClientData` gives them: `OrderedDict(pixels=28x28, label=…)`."""
    idx = split.train.client_indices(client)
    return tf.data.Dataset.from_tensor_slices(collections.OrderedDict(
        pixels=split.train.x[idx].reshape(-1, 28, 28), label=split.train.y[idx]))


def test_federated_learning_for_image_classification(split):
    """"Federated Learning for Image Classification": preprocess, from_keras_model, build_weighted_fed_avg."""
    def preprocess(dataset):
        def batch_format_fn(element):
            return collections.OrderedDict(x=tf.reshape(element['pixels'], [-1, 784]),
                                           y=tf.reshape(element['label'], [-1, 1]))
        return dataset.repeat(NUM_EPOCHS).shuffle(SHUFFLE_BUFFER, seed=1).batch(BATCH_SIZE).map(
            batch_format_fn).prefetch(PREFETCH_BUFFER)

    federated_train_data = [preprocess(create_tf_dataset_for_client(split, x)) for x in range(NUM_CLIENTS)]
    preprocessed_example_dataset = federated_train_data[0]

    def create_keras_model():
        return tf.keras.models.Sequential([
            tf.keras.layers.InputLayer(shape=(784,)),
            tf.keras.layers.Dense(10, kernel_initializer='zeros'),
            tf.keras.layers.Softmax(),
        ])

    def model_fn():
        keras_model = create_keras_model()
        return fedexp.from_keras_model(
            keras_model,
            input_spec=preprocessed_example_dataset.element_spec,
            loss=tf.keras.losses.SparseCategoricalCrossentropy(),
            metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
        )

    training_process = fedexp.build_weighted_fed_avg(
        model_fn,
        client_optimizer_fn=fedexp.build_sgdm(learning_rate=0.02),
        server_optimizer_fn=fedexp.build_sgdm(learning_rate=1.0),
    )
    train_state = training_process.initialize()
    losses = []
    for _ in range(3):
        result = training_process.next(train_state, federated_train_data)
        train_state = result.state
        train_metrics = result.metrics['client_work']['train']
        losses.append(float(train_metrics['loss']))
    examples = sum(len(split.train.client_indices(c)) for c in range(NUM_CLIENTS)) * NUM_EPOCHS
    assert float(train_metrics['num_examples']) == examples
    assert losses[2] < losses[1] < losses[0] < np.log(10)  # zero weights start at log 10
    assert float(train_metrics['accuracy']) > 0.7


def test_composing_learning_algorithms(split):
    """"Composing Learning Algorithms": FedAvg with client gradient clipping from the four blocks, its
    aggregator from TFF's factory (`MeanFactory().create(...)`). The tutorial's own client work is written
    in TFF's federated core (`tff.tf_computation`, `tff.federated_map`), which fedexp does not have: fedexp's
    `build_gradient_clipping_client_work` stands in for it, and `fedexp.weights_type` for the type that the
    tutorial reads off a TFF computation."""
    BATCH_SIZE = 20  # noqa: N806 (the tutorial's name)

    def preprocess(dataset):
        def batch_format_fn(element):
            return (tf.reshape(element['pixels'], [-1, 784]), tf.reshape(element['label'], [-1, 1]))
        return dataset.batch(BATCH_SIZE).map(batch_format_fn)

    federated_train_data = [preprocess(create_tf_dataset_for_client(split, x)) for x in range(NUM_CLIENTS)]

    def create_keras_model():
        initializer = tf.keras.initializers.GlorotNormal(seed=0)
        return tf.keras.models.Sequential([
            tf.keras.layers.Input(shape=(784,)),
            tf.keras.layers.Dense(10, kernel_initializer=initializer),
            tf.keras.layers.Softmax(),
        ])

    def model_fn():
        keras_model = create_keras_model()
        return fedexp.from_keras_model(
            keras_model,
            input_spec=federated_train_data[0].element_spec,
            loss=tf.keras.losses.SparseCategoricalCrossentropy(),
            metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])

    def initial_model_weights_fn():
        return fedexp.ModelWeights.from_model(model_fn())

    model_weights_type = fedexp.weights_type(model_fn())
    distributor = fedexp.build_broadcast_process(model_weights_type)
    client_work = fedexp.build_gradient_clipping_client_work(model_fn, fedexp.build_sgdm(learning_rate=0.01),
                                                             clip_norm=1.0)
    aggregator_factory = fedexp.MeanFactory()
    aggregator = aggregator_factory.create(model_weights_type.trainable, tf.TensorSpec([], tf.float32))
    finalizer = fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(learning_rate=1.0), model_weights_type)
    fed_avg_with_clipping = fedexp.compose_learning_process(
        initial_model_weights_fn, distributor, client_work, aggregator, finalizer)

    state = fed_avg_with_clipping.initialize()
    assert int(state.finalizer['step']) == 0
    learning_process_output = fed_avg_with_clipping.next(state, federated_train_data)
    assert int(learning_process_output.state.finalizer['step']) == 1  # "the finalizer state has incremented by one"
    assert set(learning_process_output.metrics) == {'distributor', 'client_work', 'aggregator', 'finalizer'}
    built_in = fedexp.build_fed_avg_with_gradient_clipping(model_fn, fedexp.build_sgdm(learning_rate=0.01))
    same = built_in.next(built_in.initialize(), federated_train_data).state
    for ours, theirs in zip(fed_avg_with_clipping.get_model_weights(learning_process_output.state).trainable,
                            built_in.get_model_weights(same).trainable):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_batches_of_another_form_are_refused_with_what_was_found(linear_fn):
    process = fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_sgdm(0.1))
    wrong = tf.data.Dataset.from_tensor_slices({"pixels": np.zeros((4, 6), np.float32),
                                                "label": np.zeros(4, np.int32)}).batch(2)
    with pytest.raises(ValueError, match=r"mappings with 'x' and 'y'; found a mapping with keys \['label', 'pixels'\]"):
        process.next(process.initialize(), [wrong])
