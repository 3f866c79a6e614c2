"""The seed tutorial's client work: FedAvg local training with each step's gradient
clipped to a global norm (`clip_norm`, a hyperparameter).

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)
"""

import tensorflow as tf

from fedexp import checks
from fedexp.client_work._local_training import GradientTerm, build_local_training_client_work
from fedexp.client_work._result import ClientWeighting
from fedexp.templates.client_values import clip_clients


def clip_gradient(grads, hparams, trainable, initial, side_by_side):
    """Each client's step gradient clipped to the global norm `clip_norm`."""
    if side_by_side:
        return tuple(clip_clients(grads, hparams["clip_norm"])[0])
    return tuple(tf.clip_by_global_norm(grads, hparams["clip_norm"])[0])


def build_gradient_clipping_client_work(model_fn, optimizer, clip_norm=1.0,
                                        client_weighting=ClientWeighting.NUM_EXAMPLES, *, batched="auto",
                                        devices=(), name="gradient_clipping"):
    """FedAvg's client work whose every local step clips its gradient to `clip_norm` (the TFF
    "Composing Learning Algorithms" tutorial's). Arguments as `build_model_delta_client_work`'s;
    its hyperparameters are the optimizer's and `clip_norm`. Returns a `ClientWorkProcess`;
    raises ValueError unless `clip_norm` > 0."""
    checks.number("clip_norm", clip_norm, above=0)
    term = GradientTerm("gradient_clipping", {"clip_norm": clip_norm}, clip_gradient)
    return build_local_training_client_work(model_fn, optimizer, client_weighting, term=term, batched=batched,
                                            devices=devices, name=name)
