"""The top level of the config: the schema fedexp checks matches conf/config.yaml, and a typo is
refused before TensorFlow is imported."""

import subprocess
import sys

from omegaconf import DictConfig

from fedexp.runner.config import BEHAVIORS, GROUPS, SETTINGS
from tests.conftest import compose


def test_the_schema_is_the_shipped_config():
    cfg = compose()
    assert set(cfg) == set(GROUPS) - set(BEHAVIORS) | set(SETTINGS) - {"inspect"}  # +attack=…, +inspect=true only
    for section, keys in SETTINGS.items():
        if keys:
            assert isinstance(cfg[section], DictConfig) and set(cfg[section]) == set(keys), section


def test_a_typo_is_refused_before_tensorflow_is_imported(tmp_path):
    probe = ("import sys; sys.argv = ['fedexp', '+num_round=3']\n"
             "from fedexp.runner.cli import main\n"
             "try:\n    main()\nexcept SystemExit as e:\n    print('exit', e.code, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "exit 2 False", result.stdout + result.stderr
    assert "fedexp: error: num_round: no such key; did you mean num_rounds?" in result.stderr
