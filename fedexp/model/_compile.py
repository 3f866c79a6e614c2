import keras


def compiled(model):
    """Compiles a classifier that outputs logits with the loss fedexp trains it on."""
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
