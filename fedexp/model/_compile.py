import keras

from fedexp import checks


def compiled(model):
    """Compiles a classifier that outputs logits with the loss fedexp trains it on."""
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def check_shape(*, input_shape, num_classes, seed, hidden_units=()):
    """The arguments every fedexp model takes: sizes are integers >= 1, the seed >= 0."""
    for key, sizes in (("input_shape", input_shape), ("hidden_units", hidden_units)):
        checks.require(key, sizes, isinstance(sizes, (list, tuple)), "a list of integers >= 1")
        for size in sizes:
            checks.require(key, sizes, checks.is_integer(size) and size >= 1, "a list of integers >= 1")
    checks.integer("num_classes", num_classes, at_least=1)
    checks.integer("seed", seed, at_least=0)
