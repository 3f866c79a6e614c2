"""FedProx's client work (Li et al. 2020): FedAvg local training whose loss adds the proximal
term mu/2 ||w - w_global||^2, keeping clients near the server's model on heterogeneous data
(`proximal_strength` mu, a hyperparameter; mu = 0 is FedAvg)."""

from fedexp.client_work.model_delta import build_local_training_client_work
from fedexp.client_work.training import ClientWeighting


def build_fedprox_client_work(model_fn, optimizer, proximal_strength=0.01,
                              client_weighting=ClientWeighting.NUM_EXAMPLES, *, batched="auto", devices=(),
                              name="fedprox"):
    return build_local_training_client_work(model_fn, optimizer, client_weighting,
                                            proximal_strength=proximal_strength, batched=batched, devices=devices,
                                            name=name)
