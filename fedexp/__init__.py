"""fedexp: federated-learning experiments from TFF's building blocks on TensorFlow 2.21."""

from fedexp import templates
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.aggregator.unweighted_mean import build_unweighted_mean
from fedexp.algorithms import (
    build_fed_avg_with_gradient_clipping, build_fed_sgd, build_unweighted_fed_avg, build_weighted_fed_avg)
from fedexp.client_work.fed_sgd import build_fed_sgd_client_work
from fedexp.client_work.gradient_clipping import build_gradient_clipping_client_work
from fedexp.client_work.model_delta import build_model_delta_client_work
from fedexp.client_work.training import ClientWeighting
from fedexp.data.cohort import Cohort
from fedexp.distributor.broadcast import build_broadcast_process
from fedexp.finalizer.apply_optimizer import build_apply_optimizer_finalizer
from fedexp.model.functional import ModelWeights, weights_type
from fedexp.optimizer.adagrad import build_adagrad
from fedexp.optimizer.adam import build_adam
from fedexp.optimizer.rmsprop import build_rmsprop
from fedexp.optimizer.sgdm import build_sgdm
from fedexp.optimizer.yogi import build_yogi
from fedexp.templates.composers import compose_learning_process

__version__ = "0.1.0"
