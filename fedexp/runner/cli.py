"""The `fedexp` command: a thin Hydra entry point around `train(cfg)`, after a preflight of what
Hydra itself would run from the config (`fedexp.runner.preflight`)."""

import signal
import sys
from pathlib import Path

import hydra

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")  # shipped inside the package


def main():
    """The console script: the config Hydra is about to compose is checked, then Hydra runs the job(s)."""
    from fedexp.errors import ConfigError
    from fedexp.runner import preflight, quiet
    try:
        cfg = preflight.compose(sys.argv[1:], CONFIG_DIR, __file__)
        if cfg is not None:
            preflight.check(cfg)
    except ConfigError as e:
        print(f"fedexp: error: {e}", file=sys.stderr)
        sys.exit(2)
    quiet.set_log_levels(cfg is not None and cfg.hydra.verbose)
    job()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def job(cfg):
    from fedexp.errors import ConfigError
    from fedexp.runner.config import validate
    try:
        validate(cfg)  # before TensorFlow is imported: a typo costs a fraction of a second
    except ConfigError as e:
        print(f"fedexp: error: {e}", file=sys.stderr)
        sys.exit(2)
    from hydra.core.hydra_config import HydraConfig
    from fedexp.runner import quiet
    quiet.start_tensorflow(verbose=HydraConfig.get().verbose)
    from fedexp.runner.loop import Diverged
    from fedexp.runner.train import train
    from fedexp.templates import TemplateError
    try:
        final = train(cfg)  # a sweeper can optimize what the job returns: the accuracy
        return final.get("eval/accuracy", final.get("eval_federated/accuracy"))
    except (ConfigError, TemplateError) as e:
        print(f"fedexp: error: {e}", file=sys.stderr)
        sys.exit(2)
    except Diverged as e:
        print(f"fedexp: error: {e}; the run is marked FAILED", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        print(f"fedexp: interrupted by {signal.Signals(signum).name}; the run is marked KILLED with what it had "
              f"logged", file=sys.stderr)
        sys.exit(128 + signum)
