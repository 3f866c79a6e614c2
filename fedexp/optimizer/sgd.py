"""SGD with optional (heavy-ball) momentum, as `tff.learning.optimizers.build_sgdm`.

    without momentum: w <- w - lr * g
    with momentum:    a <- momentum * a + g;  w <- w - lr * a
"""


from fedexp.optimizer._base import build_optimizer, zeros


def build_sgdm(learning_rate, momentum=None):
    """SGD (`momentum` None) or SGD with heavy-ball momentum, as TFF's `build_sgdm`; the learning
    rate has no default (`conf/optimizer/sgd.yaml` gives the command's). Returns an `Optimizer`
    whose hyperparameters (`learning_rate`, `momentum`) are in its state; raises ValueError for
    a negative one."""
    if momentum is None:
        return build_optimizer(
            "sgd", {"learning_rate": learning_rate}, lambda spec: (),
            lambda hp, step, slot, w, g: ((), w - hp["learning_rate"] * g))

    def update(hp, step, acc, w, g):
        acc = hp["momentum"] * acc + g
        return acc, w - hp["learning_rate"] * acc

    return build_optimizer("sgdm", {"learning_rate": learning_rate, "momentum": momentum},
                           zeros, update)
