"""device, precision and jit_compile: each switch gives the default run's results within tolerance."""

import pytest
import tensorflow as tf

from fedexp.errors import ConfigError
from fedexp.runner.train import train
from tests.conftest import TINY, compose

MLP = [*TINY, "model=mlp", "model.hidden_units=[32]", "tracking=none", "num_rounds=3"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:  # its checkpoints go to a folder of its own, as each test's
        patch.chdir(tmp_path_factory.mktemp("reference"))
        return {batched: train(compose(*MLP, f"client_work.batched={batched}")) for batched in ("true", "false")}


def close(a, b, rtol):
    for key in ("eval/loss", "eval/accuracy", "model/global_norm", "client_work/train/loss"):
        assert a[key] == pytest.approx(b[key], rel=rtol, abs=rtol), key


@pytest.mark.parametrize("batched", ["true", "false"])
def test_jit_compile_equals_the_default(reference, batched):
    close(train(compose(*MLP, "jit_compile=true", f"client_work.batched={batched}")), reference[batched], 1e-5)


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("batched", ["true", "false"])
def test_mixed_precision_is_close_to_float32(reference, precision, batched):
    close(train(compose(*MLP, f"precision={precision}", f"client_work.batched={batched}")), reference[batched], 0.05)
    assert tf.keras.mixed_precision.global_policy().name == "float32"  # restored after the run


def test_device_cpu_equals_auto_on_a_cpu_machine(reference):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible: auto picks it")
    close(train(compose(*MLP, "device=cpu", "client_work.batched=true")), reference["true"], 0)


@pytest.mark.parametrize("override, message", [
    ("device=tpu", r"device must be one of \['auto', 'cpu', 'gpu'\], found 'tpu'"),
    ("precision=float8", r"precision must be one of \['float32', 'mixed_float16', 'mixed_bfloat16'\], found 'float8'"),
    ("jit_compile=maybe", "jit_compile must be true or false, found 'maybe'"),
])
def test_bad_switches(override, message):
    with pytest.raises(ConfigError, match=message):
        train(compose(*MLP, override))


def test_gpu_without_a_gpu_is_refused():
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible")
    with pytest.raises(ConfigError, match="device: gpu was asked for, but TensorFlow sees no GPU"):
        train(compose(*MLP, "device=gpu"))
