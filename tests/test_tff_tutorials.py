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


def test_building_your_own_federated_learning_algorithm(split):
    """"Building Your Own Federated Learning Algorithm", its cells in order, `tff.` read as `fedexp.core.`
    (`tff.learning.X` as `fedexp.X`, `tff.tensorflow.computation` as `fedexp.core.tf_computation`). Its algorithm
    (clients' SGD from the server's weights, the plain mean of the trained weights) is fedexp's unweighted
    FedAvg with a server learning rate of 1: the two agree after the tutorial's 15 rounds."""
    tff = fedexp.core
    NUM_CLIENTS, BATCH_SIZE = 10, 20  # noqa: N806 (the tutorial's names)

    def preprocess(dataset):
        def batch_format_fn(element):
            """Flatten a batch of EMNIST data and return a (features, label) tuple."""
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

    keras_model = create_keras_model()
    tff_model = fedexp.functional_model_from_keras(
        keras_model,
        loss_fn=tf.keras.losses.SparseCategoricalCrossentropy(),
        input_spec=federated_train_data[0].element_spec,
        metrics_constructor=collections.OrderedDict(accuracy=tf.keras.metrics.SparseCategoricalAccuracy),
    )

    @tf.function
    def client_update(model, dataset, initial_weights, client_optimizer):
        """Performs training (using the server model weights) on the client's dataset."""
        client_weights = initial_weights.trainable
        optimizer_state = client_optimizer.initialize(tf.nest.map_structure(tf.TensorSpec.from_tensor, client_weights))
        for batch in dataset:
            x, y = batch
            with tf.GradientTape() as tape:
                tape.watch(client_weights)
                outputs = model.predict_on_batch(model_weights=(client_weights, ()), x=x, training=True)
                loss = model.loss(output=outputs, label=y)
            grads = tape.gradient(loss, client_weights)
            optimizer_state, client_weights = client_optimizer.next(optimizer_state, weights=client_weights,
                                                                    gradients=grads)
        return fedexp.ModelWeights(client_weights, non_trainable=())

    @tf.function
    def server_update(model, mean_client_weights):
        """Updates the server model weights as the average of the client model weights."""
        del model  # Unused, just take the mean_client_weights.
        return mean_client_weights

    federated_float_on_clients = tff.FederatedType(np.float32, tff.CLIENTS)
    assert str(federated_float_on_clients) == '{float32}@CLIENTS'

    @tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
    def get_average_temperature(client_temperatures):
        return tff.federated_mean(client_temperatures)

    assert str(get_average_temperature.type_signature) == '({float32}@CLIENTS -> float32@SERVER)'
    assert get_average_temperature([68.5, 70.3, 69.8]) == pytest.approx(69.533333)

    @tff.tf_computation(np.float32)
    def add_half(x):
        return tf.add(x, 0.5)

    assert str(add_half.type_signature) == '(float32 -> float32)'

    @tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
    def add_half_on_clients(x):
        return tff.federated_map(add_half, x)

    assert str(add_half_on_clients.type_signature) == '({float32}@CLIENTS -> {float32}@CLIENTS)'
    assert add_half_on_clients([1.0, 2.0]) == [1.5, 2.5]

    @tff.tf_computation
    def server_init():
        return fedexp.ModelWeights(*tff_model.initial_weights)

    @tff.federated_computation
    def initialize_fn():
        return tff.federated_eval(server_init, tff.SERVER)

    tf_dataset_type = tff.SequenceType(tff.tensorflow_to_type(tff_model.input_spec))
    assert str(tf_dataset_type) == '<float32[?,784],int32[?,1]>*'
    model_weights_type = server_init.type_signature.result

    @tff.tf_computation(tf_dataset_type, model_weights_type)
    def client_update_fn(tf_dataset, server_weights):
        client_optimizer = fedexp.build_sgdm(learning_rate=0.01)
        return client_update(tff_model, tf_dataset, server_weights, client_optimizer)

    @tff.tf_computation(model_weights_type)
    def server_update_fn(mean_client_weights):
        return server_update(tff_model, mean_client_weights)

    federated_server_type = tff.FederatedType(model_weights_type, tff.SERVER)
    federated_dataset_type = tff.FederatedType(tf_dataset_type, tff.CLIENTS)

    @tff.federated_computation(federated_server_type, federated_dataset_type)
    def next_fn(server_weights, federated_dataset):
        server_weights_at_client = tff.federated_broadcast(server_weights)
        client_weights = tff.federated_map(client_update_fn, (federated_dataset, server_weights_at_client))
        mean_client_weights = tff.federated_mean(client_weights)
        server_weights = tff.federated_map(server_update_fn, mean_client_weights)
        return server_weights

    federated_algorithm = tff.IterativeProcess(initialize_fn=initialize_fn, next_fn=next_fn)
    assert str(federated_algorithm.initialize.type_signature) == \
        '( -> <trainable=<float32[784,10],float32[10]>,non_trainable=<>>@SERVER)'
    assert str(federated_algorithm.next.type_signature) == (
        '(<<trainable=<float32[784,10],float32[10]>,non_trainable=<>>@SERVER,{<float32[?,784],int32[?,1]>*}@CLIENTS> '
        '-> <trainable=<float32[784,10],float32[10]>,non_trainable=<>>@SERVER)')

    central_emnist_test = preprocess(tf.data.Dataset.from_tensor_slices(collections.OrderedDict(
        pixels=split.test.x.reshape(-1, 28, 28), label=split.test.y)))

    def evaluate(model_weights):
        keras_model = create_keras_model()
        keras_model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                            metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])
        model_weights.assign_weights_to(keras_model)
        return keras_model.evaluate(central_emnist_test, verbose=0)

    server_state = federated_algorithm.initialize()
    before = evaluate(server_state)
    for _ in range(15):
        server_state = federated_algorithm.next(server_state, federated_train_data)
    after = evaluate(server_state)
    assert before[1] < 0.15 and after[0] < 1.5 and after[1] > 0.65, (before, after)  # seen: 2.38, 0.086 -> 1.36, 0.718

    def model_fn():
        return fedexp.from_keras_model(create_keras_model(), loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                                       input_spec=federated_train_data[0].element_spec)

    fed_avg = fedexp.build_unweighted_fed_avg(model_fn, fedexp.build_sgdm(0.01), fedexp.build_sgdm(1.0))
    state = fed_avg.initialize()
    for _ in range(15):
        state = fed_avg.next(state, federated_train_data).state
    for ours, theirs in zip(fed_avg.get_model_weights(state).trainable, server_state.trainable):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
