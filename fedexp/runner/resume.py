"""`resume=`: which run and checkpoint a command continues, and whether its config may continue it.

    resume=<run folder>         the newest checkpoint in <run folder>/checkpoints
    resume=<checkpoint folder>  that checkpoint (…/checkpoints/round-000035)
    resume=<MLflow run id>      the newest checkpoint of that run
    resume=true                 this command's last run (same overrides; in a sweep, the same
                                parent run): finished -> nothing to do; interrupted -> resumed; none -> started

A job that SLURM requeued (preempted, or requeued by submitit at its time limit) with `resume`
unset continues from its own run folder's newest checkpoint, if it wrote one before it was stopped.

The resumed config is the saved command's overrides followed by this command's, so `fedexp
resume=<folder>` alone continues the run as it was and `… num_rounds=100` extends it. Only
the keys in `MAY_CHANGE` may differ from the checkpoint's config; any other is refused.
"""

import os
import re
from pathlib import Path
from typing import NamedTuple, Optional

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from fedexp.errors import ConfigError
from fedexp.runner.checkpoint import folders
from fedexp.runner.distributed import PER_WORKER
from fedexp.runner.loop import flatten

MAY_CHANGE = ("num_rounds", "eval_every", "on_nonfinite", "checkpoint", "tracking", "resume", "distributed")
RUN_ID = re.compile(r"[0-9a-f]{32}")


class Target(NamedTuple):
    """What to continue: the MLflow run (None: a new one), its newest checkpoint (None: from round 0),
    and, for a run that already finished every round asked for, its final metrics."""

    run_id: Optional[str] = None
    checkpoint: Optional[Path] = None
    finished: Optional[dict] = None


def overrides() -> list:
    """This command's overrides without `resume=…` and what differs between a distributed run's workers."""
    if not HydraConfig.initialized():
        return []
    return [o for o in HydraConfig.get().overrides.task if not o.startswith(("resume=", *PER_WORKER))]


def newest_checkpoint(path) -> Optional[Path]:
    path = Path(path)
    if (path / "manifest.json").is_file():
        return path
    found = folders(path / "checkpoints" if (path / "checkpoints").is_dir() else path)
    return found[0] if found else None


def requeued() -> int:
    """How many times SLURM has requeued this job (its `SLURM_RESTART_COUNT`; 0 elsewhere)."""
    count = os.environ.get("SLURM_RESTART_COUNT", "0")
    return int(count) if count.isdigit() else 0


def find_target(cfg, tracker, folder=None) -> Target:
    """Reads `cfg.resume` (unset in a requeued SLURM job: `folder`, this run's folder, if it holds a
    checkpoint); raises `ConfigError` when what it names is not there."""
    resume = cfg.get("resume")
    if resume is None and folder is not None and requeued() and newest_checkpoint(folder):
        resume = folder
    if resume is None or resume is False:
        return Target()
    if resume is True:
        return last_run(cfg, tracker)
    resume = str(resume)
    if Path(resume).exists():
        folder = newest_checkpoint(resume)
        if folder is None:
            raise ConfigError(f"resume: no checkpoint in {resume} (a run folder holds them in checkpoints/round-…)")
        return Target(checkpoint=folder)
    if RUN_ID.fullmatch(resume):
        if not tracker.enabled:
            raise ConfigError("resume: a run id is looked up in MLflow; with tracking=none give the run folder")
        run = tracker.get_run(resume)
        if run is None:
            raise ConfigError(f"resume: no run {resume} in the MLflow store {tracker.uri} (set tracking.uri?)")
        folder = newest_checkpoint(run.data.tags.get("fedexp.checkpoints", "/nonexistent"))
        if folder is None:
            raise ConfigError(f"resume: run {resume} has no checkpoint left "
                              f"(looked in {run.data.tags.get('fedexp.checkpoints')})")
        return Target(resume, folder)
    raise ConfigError(f"resume: {resume!r} is neither a folder nor an MLflow run id; allowed: a run folder, "
                      "a checkpoint folder, a run id, true or null")


def last_run(cfg, tracker) -> Target:
    if not tracker.enabled:
        raise ConfigError("resume: true finds this command's last run in MLflow; with tracking=none give "
                          "its folder: resume=<run folder>")
    run = tracker.last_run_with(" ".join(overrides()))
    if run is None:
        return Target()
    logged = tracker.logged_through(run.info.run_id)
    if run.info.status == "FINISHED" and (logged >= cfg.num_rounds or "stopped" in run.data.tags):
        return Target(run.info.run_id, finished=dict(run.data.metrics))
    return Target(run.info.run_id, newest_checkpoint(run.data.tags.get("fedexp.checkpoints", "/nonexistent")))


def resumed_config(cfg, saved_overrides):
    """(config, overrides): this command on top of the saved one, i.e. the saved overrides, then this
    command's (a key given by both takes this command's value). Outside the `fedexp` command: `cfg`."""
    if not HydraConfig.initialized():
        return cfg, list(saved_overrides)
    now = overrides()
    given = {o.split("=", 1)[0].lstrip("+~") for o in now}
    merged = [o for o in saved_overrides if o.split("=", 1)[0].lstrip("+~") not in given] + now
    return hydra.compose("config", overrides=merged), merged


def config_changes(saved_yaml, cfg):
    """(refused, allowed): the keys whose values differ between the checkpoint's config and `cfg`,
    each as "key: saved -> now"; refused are those that change results."""
    saved = flatten(OmegaConf.to_container(OmegaConf.create(saved_yaml)), ".")
    now = flatten(OmegaConf.to_container(cfg, resolve=True), ".")
    refused, allowed = [], []
    for key in sorted((set(saved) | set(now)) - {"resume"}):
        if saved.get(key, "(unset)") != now.get(key, "(unset)"):
            change = f"{key}: {saved.get(key, '(unset)')} -> {now.get(key, '(unset)')}"
            (allowed if key.split(".")[0] in MAY_CHANGE else refused).append(change)
    return refused, allowed


def check_changes(saved_yaml, cfg, checkpoint_folder) -> list:
    """Refuses a config that changes a key that affects results; returns the allowed changes."""
    refused, allowed = config_changes(saved_yaml, cfg)
    if refused:
        raise ConfigError(f"resume: these keys differ from the run in {checkpoint_folder} and change its results: "
                          f"{'; '.join(refused)}. Only {', '.join(MAY_CHANGE)} may change; start a new run instead")
    if cfg.num_rounds < int(Path(checkpoint_folder).name.split("-")[1]):
        raise ConfigError(f"num_rounds: {cfg.num_rounds} is below the round of the checkpoint {checkpoint_folder}")
    return allowed
