"""TFF's learning templates on TensorFlow 2.21: processes, their contracts, the composer."""

from fedexp.templates.aggregation_process import AggregationProcess
from fedexp.templates.client_data import Cohort, cohort_type
from fedexp.templates.client_work import ClientResult, ClientWorkProcess
from fedexp.templates.composers import compose_learning_process
from fedexp.templates.computation import (
    CLIENTS, SERVER, Computation, at_clients, bytes_of, is_assignable, member_type, placement_of, type_of, type_str)
from fedexp.templates.distribution_process import DistributionProcess
from fedexp.templates.errors import (
    AggregationNotFederatedError, AggregationPlacementError, AggregationValueTypeMismatchError, BlockRoleError,
    ClientResultTypeError, ClientUpdateTypeError, FinalizerResultTypeError, GetHparamsTypeError,
    LearningProcessOutputError, ModelWeightsTypeError, RoundNotSplittableError, SetHparamsTypeError, TemplateError,
    TemplateInitFnParamNotEmptyError, TemplateNextFnNumArgsError, TemplateNotFederatedError,
    TemplateNotMeasuredProcessOutputError, TemplatePlacementError, TemplateStateNotAssignableError)
from fedexp.templates.finalizer import FinalizerProcess
from fedexp.templates.intrinsics import cohort, federated_broadcast, federated_mean, federated_sum
from fedexp.templates.learning_process import LearningAlgorithmState, LearningProcess, LearningProcessOutput
from fedexp.templates.measured_process import IterativeProcess, MeasuredProcess, MeasuredProcessOutput
from fedexp.templates.monitor import MonitorReport, RoundMonitor
