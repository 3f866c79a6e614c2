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


def start_group(workers) -> int:
    """Starts this job's `workers` processes on 127.0.0.1, forwards SIGTERM and SIGINT to them, and
    returns 0 or the first failing worker's exit code."""
    from hydra.core.hydra_config import HydraConfig
    from fedexp.runner.distributed import start_local
    from fedexp.tracking.mlflow import sweep_parent
    hydra_cfg = HydraConfig.get()
    group = start_local(workers, list(hydra_cfg.overrides.task), hydra_cfg.runtime.output_dir,
                        env={"FEDEXP_SWEEP_PARENT": sweep_parent()} if sweep_parent() else None)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, group.forward)
    return group.wait()


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
    from fedexp.runner import distributed, quiet
    place = None
    if cfg.distributed.workers > 1:
        try:
            place = distributed.cluster(cfg.distributed)
        except ConfigError as e:
            print(f"fedexp: error: {e}", file=sys.stderr)
            sys.exit(2)
        if place is None:  # start the group on this machine; this process trains nothing
            code = start_group(cfg.distributed.workers)
            if code:
                sys.exit(code)
            return None
    quiet.start_tensorflow(verbose=HydraConfig.get().verbose)
    from fedexp.runner.loop import Diverged
    from fedexp.runner.train import train
    from fedexp.templates import TemplateError
    try:
        workers = place and distributed.Workers(*place, timeout_seconds=cfg.distributed.timeout_seconds,
                                                startup_seconds=cfg.distributed.startup_seconds,
                                                config_digest=distributed.digest(cfg))
        final = train(cfg, workers)  # a sweeper can optimize what the job returns: the accuracy
        return final.get("eval/accuracy", final.get("eval_federated/accuracy"))
    except (ConfigError, TemplateError) as e:
        print(f"fedexp: error: {e}", file=sys.stderr)
        sys.exit(2)
    except Diverged as e:
        from hydra.types import RunMode
        if HydraConfig.get().mode == RunMode.MULTIRUN:  # one setting of a sweep diverged: the other jobs go on
            print(f"fedexp: error: {e}; the run is marked FAILED; the sweep goes on", file=sys.stderr)
            return None
        print(f"fedexp: error: {e}; the run is marked FAILED", file=sys.stderr)
        sys.exit(1)
    except distributed.WorkerLost as e:
        print(f"fedexp: error: {e}; the run is marked FAILED; resume the group with fedexp resume=<run folder>",
              file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        print(f"fedexp: interrupted by {signal.Signals(signum).name}; the run is marked KILLED with what it had "
              f"logged", file=sys.stderr)
        sys.exit(128 + signum)
