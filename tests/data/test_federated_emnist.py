"""Federated EMNIST from small HDF5 files the test writes in TFF's layout (examples/<writer>/pixels|label)."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from fedexp.data.federated_emnist import build_federated_emnist
from tests.conftest import all_runs, store

WRITERS = {"f0000_14": (9, 3), "f0001_41": (4, 2), "f0002_07": (12, 1), "f0003_33": (6, 2)}  # train, test sizes


def write(folder, name, labels_of):
    """TFF's files for `WRITERS`, with labels from `labels_of(writer_index, n)`; pixels encode (writer, example)."""
    for part, column in (("train", 0), ("test", 1)):
        with h5py.File(folder / name.format(part), "w") as f:
            for w, (writer, sizes) in enumerate(WRITERS.items()):
                n = sizes[column]
                group = f.create_group(f"examples/{writer}")
                group["pixels"] = np.full((n, 28, 28), w, np.float32) + np.arange(n)[:, None, None] / 100
                group["label"] = labels_of(w, n).astype(np.int32)


def test_writers_are_the_clients(tmp_path):
    write(tmp_path, "fed_emnist_digitsonly_{}.h5", lambda w, n: np.arange(n) % 10)
    split = build_federated_emnist(path=str(tmp_path))
    assert split.train.client_sizes.tolist() == [9, 4, 12, 6] and split.test.client_sizes.tolist() == [3, 2, 1, 2]
    assert split.train.x.shape[1:] == (28, 28) and split.num_classes == 10
    np.testing.assert_allclose(split.train.x[split.train.client_indices(2)][:, 0, 0], 2 + np.arange(12) / 100)
    assert split.test_x.shape == (8, 28, 28)


def test_digits_only_keeps_the_digits_of_the_full_files(tmp_path):
    write(tmp_path, "fed_emnist_{}.h5",
          lambda w, n: np.minimum(np.arange(n) * 7 + w * 3, 61) if w < 3 else np.full(n, 40))
    digits = build_federated_emnist(path=str(tmp_path), digits_only=True)
    assert digits.train.num_clients == 3 and digits.train.y.max() < 10  # writer 3 wrote no digit
    assert digits.train.client_sizes.tolist() == [2, 1, 1]  # labels 0 7 | 3 | 6
    full = build_federated_emnist(path=str(tmp_path), digits_only=False)
    assert full.train.client_sizes.tolist() == [9, 4, 12, 6] and full.num_classes == 62


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, r"path: .* does not hold fed_emnist_digitsonly_train.h5 and fed_emnist_digitsonly_test.h5 or "
                     r"fed_emnist_train.h5 and fed_emnist_test.h5"),
    (lambda d: [(d / f"fed_emnist_digitsonly_{p}.h5").write_text("not hdf5") for p in ("train", "test")],
     r"path: .*fed_emnist_digitsonly_train.h5 is not a TFF federated EMNIST file"),
])
def test_missing_or_wrong_files_say_so(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(ValueError, match=message):
        build_federated_emnist(path=str(tmp_path))


def test_two_rounds_through_the_fedexp_command(tmp_path):
    write(tmp_path, "fed_emnist_digitsonly_{}.h5", lambda w, n: np.arange(n) % 10)
    uri, client = store(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "fedexp", "data=federated_emnist", f"data.path={tmp_path}", "model=emnist_cnn",
         "num_rounds=2", "clients_per_round=2", "evaluation.federated=true", "evaluation.clients_per_round=3",
         f"tracking.uri={uri}"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = all_runs(client)
    metrics, params = run.data.metrics, run.data.params
    assert params["data/num_clients"] == "4" and params["data/examples_per_client_max"] == "12"
    sources = {json.loads(i.dataset.source)["uri"] for i in run.inputs.dataset_inputs}  # the files it read
    assert sources == {(tmp_path / f"fed_emnist_digitsonly_{split}.h5").as_uri() for split in ("train", "test")}
    assert metrics["eval_federated/num_clients"] == 3 and metrics["client_work/train/num_examples"] > 0
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "data")}
    assert artifacts == {"data/client_counts.csv", "data/label_heatmap.png"}
    counts = open(client.download_artifacts(run.info.run_id, "data/client_counts.csv", str(tmp_path))).read()
    assert counts.splitlines()[0].startswith("client,examples,label_0,label_1") and counts.splitlines()[3].startswith("2,12,")
