"""FedProx's client work (Li et al. 2020): FedAvg local training whose loss adds the proximal
term mu/2 ||w - w_global||^2, keeping clients near the server's model on heterogeneous data
(`proximal_strength` mu, a hyperparameter; mu = 0 is FedAvg).

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)
"""

from fedexp import checks
from fedexp.client_work._local_training import GradientTerm, build_local_training_client_work
from fedexp.client_work._result import ClientWeighting


def proximal_gradient(grads, hparams, trainable, initial, side_by_side):
    """The loss gradient plus the proximal term's, mu (w - w_global)."""
    mu = hparams["proximal_strength"]
    return tuple(g + mu * (w - w0) for g, w, w0 in zip(grads, trainable, initial))


def build_fedprox_client_work(model_fn, optimizer, proximal_strength=0.01,
                              client_weighting=ClientWeighting.NUM_EXAMPLES, *, batched="auto", devices=(),
                              name="fedprox"):
    """FedProx's client work. Arguments as `build_model_delta_client_work`'s; its hyperparameters
    are the optimizer's and `proximal_strength`. Returns a `ClientWorkProcess`; raises ValueError
    unless `proximal_strength` >= 0."""
    checks.number("proximal_strength", proximal_strength, at_least=0)
    term = GradientTerm("fedprox", {"proximal_strength": proximal_strength}, proximal_gradient)
    return build_local_training_client_work(model_fn, optimizer, client_weighting, term=term, batched=batched,
                                            devices=devices, name=name)
