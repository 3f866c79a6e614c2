"""Federated EMNIST: the natural per-writer split of TFF and LEAF (3,400 writers; 3,383 in the
digits-only files), read from TFF's HDF5 files in a local folder.

TFF's layout: `examples/<writer id>/pixels` (float32 [n, 28, 28] in [0, 1], used as stored) and
`examples/<writer id>/label` (int [n]), in `fed_emnist_digitsonly_{train,test}.h5` (digits)
and `fed_emnist_{train,test}.h5` (62 classes: digits, upper and lower case letters). Get them
once, e.g. from https://storage.googleapis.com/tff-datasets-public/fed_emnist_digitsonly.tar.bz2
(or fed_emnist.tar.bz2), and unpack them into `path`. Writers are the clients, in the files'
(sorted) order; each writer's test examples are held out for the same writer.
"""

from pathlib import Path

import numpy as np

from fedexp import checks
from fedexp.data._federated import FederatedData, FederatedSplit

FILES = {True: "fed_emnist_digitsonly_{}.h5", False: "fed_emnist_{}.h5"}


def build_federated_emnist(*, path, digits_only=True, batch_size=20, epochs=1):
    """With `digits_only` the digits-only files are read; when only the full files are there,
    their digits (labels 0-9) are kept, and writers left without any are dropped. Returns a
    `FederatedSplit` whose clients are the writers in both files; raises ValueError naming
    `path` when the files are missing or not TFF's."""
    folder = Path(path).expanduser()
    names = [FILES[digits_only]] + ([FILES[False]] if digits_only else [])
    for name in names:
        files = [folder / name.format(part) for part in ("train", "test")]
        if all(f.is_file() for f in files):
            break
    else:
        expected = " or ".join(f"{name.format('train')} and {name.format('test')}" for name in names)
        checks.refuse("path", f"{folder} does not hold {expected}; download TFF's federated EMNIST there "
                      f"(see fedexp/data/federated_emnist.py)")
    digits_of_all = digits_only and name == FILES[False]
    train, test = (_read(f, digits_of_all) for f in files)
    writers = sorted(set(train) & set(test))
    if not writers:
        checks.refuse("path", f"no writer in {files[0].name} has examples in {files[1].name}")
    return FederatedSplit(_federated(train, writers), _federated(test, writers), batch_size=batch_size,
                          epochs=epochs, num_classes=10 if digits_only else 62, key="path",
                          sources=[str(f) for f in files])


def _read(file, digits_of_all):
    """{writer id: (pixels [n, 28, 28], labels [n])}; with `digits_of_all` only the digits (labels 0-9) of
    the full files are kept, and the writers who wrote none are left out."""
    import h5py
    try:
        with h5py.File(file, "r") as f:
            examples = {}
            for writer, group in f["examples"].items():
                x, y = np.asarray(group["pixels"], np.float32), np.asarray(group["label"]).astype(np.int32)
                kept = (y >= 0) & (y < 10) if digits_of_all else np.ones(len(y), bool)
                if kept.any():
                    examples[writer] = (x[kept], y[kept])
            return examples
    except (OSError, KeyError) as e:
        checks.refuse("path", f"{file} is not a TFF federated EMNIST file (examples/<writer>/pixels|label): {e}")


def _federated(examples, writers) -> FederatedData:
    return FederatedData(np.concatenate([examples[w][0] for w in writers]),
                         np.concatenate([examples[w][1] for w in writers]), [len(examples[w][1]) for w in writers])
