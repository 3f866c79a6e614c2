"""Any TensorFlow Datasets classification dataset, split into clients by a partitioner.

Read with `tfds.load(name, split=…, data_dir=…, download=…)`. Nothing is downloaded unless
`download` is true: prepare the data once where there is network access,

    tfds build mnist --data_dir ~/tensorflow_datasets

and point `data_dir` at that folder. Examples become float32 (`scale` divides them, so
255 maps uint8 pixels to [0, 1]; `flatten` makes them vectors), labels int32.
"""

import numpy as np

from fedexp import checks
from fedexp.data._federated import FederatedSplit
from fedexp.data.partition.iid import build_iid


def build_tfds(*, name, data_dir=None, download=False, train_split="train", test_split="test",
               features_key="image", labels_key="label", scale=255.0, flatten=False, partition=None,
               num_clients=100, test_clients=10, batch_size=20, epochs=1, seed=0, cache_dir=None):
    """TFDS dataset `name` read from `data_dir` (nothing downloaded unless `download`), its
    `train_split` over `num_clients` clients and its `test_split` over `test_clients` held-out
    clients, both split by `partition` (IID by default). Returns a `FederatedSplit`; raises
    ValueError naming the key for an unknown dataset, split or feature, or data not prepared."""
    import tensorflow_datasets as tfds
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        checks.refuse("name", f"TFDS has no dataset {name!r} (see https://www.tensorflow.org/datasets/catalog)")
    for key, value in (("features_key", features_key), ("labels_key", labels_key)):
        if value not in builder.info.features:
            checks.refuse(key, f"{name} has no feature {value!r}; it has: {', '.join(builder.info.features)}")
    checks.number("scale", scale, above=0)
    (x, y), (test_x, test_y) = (_load(tfds, name, key, split, data_dir, download, features_key, labels_key)
                                for key, split in (("train_split", train_split), ("test_split", test_split)))

    def preprocess(v):
        v = v.astype(np.float32) / scale
        return v.reshape(len(v), -1) if flatten else v
    x, test_x = preprocess(x), preprocess(test_x)
    label = builder.info.features[labels_key]
    return FederatedSplit.partitioned(x, y, test_x, test_y, partition=partition or build_iid(),
                                      num_clients=num_clients, test_clients=test_clients, seed=seed,
                                      cache_dir=cache_dir, batch_size=batch_size, epochs=epochs,
                                      num_classes=getattr(label, "num_classes", None), key="name",
                                      sources=(f"{name}[{train_split}]", f"{name}[{test_split}]"))


def _load(tfds, name, key, split, data_dir, download, features_key, labels_key):
    try:
        ds = tfds.load(name, split=split, data_dir=data_dir, download=download)
    except AssertionError:  # what tfds raises for data that was never prepared
        where = data_dir or "~/tensorflow_datasets"
        checks.refuse("data_dir", f"TFDS dataset {name!r} is not prepared in {where}; prepare it once with network "
                      f"access (`tfds build {name} --data_dir {where}`) or set data.download=true")
    except ValueError as e:  # an unknown split
        checks.refuse(key, e)
    batches = list(tfds.as_numpy(ds.batch(4096)))
    x = np.concatenate([b[features_key] for b in batches])
    return x, np.concatenate([b[labels_key] for b in batches]).astype(np.int32)
