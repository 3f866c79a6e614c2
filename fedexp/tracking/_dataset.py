"""A run's data in MLflow's own terms: the training and test splits as dataset inputs (the runs
list's Dataset column), each with its name, source, digest, schema and a profile that describes
the federated partition; the split's constant statistics as `data/…` params."""

import hashlib
import json
from pathlib import Path

import numpy as np


def digest(data) -> str:
    """A digest of every example, label and client assignment of `data` (a `FederatedData`): the same
    data split the same way has the same digest."""
    h = hashlib.blake2b(digest_size=8)
    for array in (data.x, data.y, data.client_sizes, data.order):
        h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def source(where, builder) -> tuple:
    """(source type, source JSON): a local file for data read from one, else the code that made it."""
    if Path(where).is_file():
        return "local", json.dumps({"uri": Path(where).absolute().as_uri()})
    return "code", json.dumps({"tags": {"builder": builder, "split": where}})


def schema(data) -> str:
    """MLflow's tensor schema of the examples and labels, read off one of each."""
    from mlflow.data.schema import TensorDatasetSchema
    from mlflow.models import infer_signature
    return json.dumps(TensorDatasetSchema(features=infer_signature(data.x[:1]).inputs,
                                          targets=infer_signature(data.y[:1]).inputs).to_dict())


def dataset_inputs(split, *, name, builder, partition) -> list:
    """`DatasetInput`s for `split`'s training and test data; `partition` (a short description such as
    `dirichlet alpha=0.5`) and the client counts go into each profile and the input's tags."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    inputs = []
    for data, where, context in ((split.train, split.sources[0], "training"), (split.test, split.sources[1], "evaluation")):
        sizes = data.client_sizes
        profile = {"examples": int(sizes.sum()), "clients": int(data.num_clients), "partition": partition,
                   "examples_per_client": f"min {sizes.min()}, median {np.median(sizes):g}, max {sizes.max()}",
                   "classes": int(split.num_classes)}
        kind, source_json = source(where, builder)
        entity = Dataset(name=name, digest=digest(data), source_type=kind, source=source_json, schema=schema(data),
                         profile=json.dumps(profile))
        tags = {"mlflow.data.context": context, "partition": partition, "clients": str(data.num_clients)}
        inputs.append(DatasetInput(entity, tags=[InputTag(k, v) for k, v in tags.items()]))
    return inputs


def data_params(summary) -> dict:
    """A split's statistics (`fedexp.data._summary.summarize`) as `data/…` params."""
    return {f"data/{k}": f"{v:g}" if isinstance(v, float) else v for k, v in summary.items()}
