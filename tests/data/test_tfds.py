"""The `tfds` source: offline, through TFDS's mock data, and its errors on real (empty) folders."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fedexp.data.tfds import build_tfds
from tests.conftest import all_runs, store


def test_two_rounds_through_the_fedexp_command(tmp_path):
    uri, client = store(tmp_path)
    script = Path(__file__).with_name("fedexp_mock_tfds.py")
    result = subprocess.run(
        [sys.executable, str(script), "data=tfds", "data.name=fashion_mnist", f"data.data_dir={tmp_path / 'tfds'}",
         "data/partition=dirichlet", "data.num_clients=8", "data.test_clients=4", "model=mlp", "num_rounds=2",
         "clients_per_round=3", "evaluation.federated=true", "evaluation.clients_per_round=2",
         f"tracking.uri={uri}"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fedexp: data: 8 clients, 120 training examples" in result.stdout
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED" and run.data.params["model.input_shape"] == "[28, 28, 1]"
    assert run.data.params["data/num_classes"] == "10" and 0 <= run.data.metrics["eval_federated/accuracy"] <= 1
    assert [m.step for m in client.get_metric_history(run.info.run_id, "eval/accuracy")] == [2]
    assert list((tmp_path / "outputs" / "cache").glob("partition-*.npz"))


def test_a_prepared_dataset_is_read_from_data_dir(tmp_path, digits):
    """A real TFDS dataset folder (written by TFDS's own builder, from the embedded digits): no mock."""
    import tensorflow as tf
    import tensorflow_datasets as tfds
    x, y = digits
    pixels = np.round(x * 255).astype(np.uint8).reshape(-1, 28, 28, 1)
    tfds.dataset_builders.TfDataBuilder(
        name="digits_5k", version="1.0.0", data_dir=str(tmp_path),
        split_datasets={split: tf.data.Dataset.from_tensor_slices({"image": pixels[part], "label": y[part]})
                        for split, part in (("train", slice(0, 300)), ("test", slice(300, 400)))},
        features=tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(28, 28, 1)),
                                             "label": tfds.features.ClassLabel(num_classes=10)}),
    ).download_and_prepare()
    split = build_tfds(name="digits_5k", data_dir=str(tmp_path), flatten=True, num_clients=6, test_clients=2)
    assert split.train.num_clients == 6 and split.num_classes == 10 and split.train.x.shape == (300, 784)
    np.testing.assert_allclose(np.sort(split.test_x.sum(1)), np.sort(x[300:400].sum(1)), rtol=1e-5)
    np.testing.assert_array_equal(np.sort(split.train.y), np.sort(y[:300]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="mnist"), r"data_dir: TFDS dataset 'mnist' is not prepared in .*; prepare it once with network "
                         r"access \(`tfds build mnist --data_dir .*`\) or set data.download=true"),
    (dict(name="mnistt"), "name: TFDS has no dataset 'mnistt'"),
    (dict(name="mnist", features_key="pixels"), "features_key: mnist has no feature 'pixels'; it has: image, label"),
    (dict(name="mnist", scale=0), "scale must be a number > 0, found 0"),
])
def test_bad_input_says_what_to_do(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_tfds(data_dir=str(tmp_path), **kwargs)
