"""One experiment: validate the config, build it, run its rounds (`fedexp.runner.loop`) in an
MLflow run, and leave its artifacts and a summary."""

import logging
import sys
from pathlib import Path

import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

import fedexp
from fedexp.data._summary import describe, summarize
from fedexp.errors import ConfigError
from fedexp.runner.build import build_experiment, instantiate
from fedexp.runner.device import precision_policy, select_devices
from fedexp.runner.checkpoint import Checkpointer, load, read_manifest
from fedexp.runner.config import validate
from fedexp.runner.distributed import DistributedRound, WorkerLost
from fedexp.runner.loop import flatten, headline, run_rounds
from fedexp.runner.resume import check_changes, find_target, overrides, requeued, resumed_config
from fedexp.runner.signals import interruptible
from fedexp.tracking import _identity as identity
from fedexp.tracking._artifacts import save_artifacts, write_data_record
from fedexp.tracking._dataset import data_params, dataset_inputs
from fedexp.tracking.none import NoTracker

logger = logging.getLogger("fedexp")


def run_tags(run_overrides) -> dict:
    """fedexp's tags (its version, the preset, the overrides `resume=true` matches on) and MLflow's
    system tags and description."""
    tags = {"fedexp.version": fedexp.__version__, **identity.system_tags(run_overrides), **identity.job_color()}
    if HydraConfig.initialized():
        tags["algo"] = identity.choices()["algo"]
        tags["overrides"] = " ".join(HydraConfig.get().overrides.task)
    return tags


def train(cfg, workers=None) -> dict:
    """Runs one experiment and returns its final metrics; raises `ConfigError` before training on bad input.
    With `inspect` set, only describes the data (see `inspect`). `workers` (`fedexp.runner.distributed.Workers`):
    this process is one of a group sharing each round's cohort (`distributed.workers` > 1)."""
    validate(cfg)
    if cfg.get("inspect"):
        return inspect(cfg)
    if cfg.distributed.workers > 1 and workers is None:
        raise ConfigError("distributed.workers > 1 runs through the fedexp command, which starts the workers "
                          "(or joins the group given by distributed.rank and peers)")
    devices = select_devices(cfg.device)
    with tf.device(devices[0]), precision_policy(cfg.precision), interruptible():
        return run(cfg, devices, workers)


def inspect(cfg) -> dict:
    """`fedexp data=… +inspect=true`: prints the data summary and writes its CSV and heatmap
    into the run folder, without training or recording anything."""
    data = instantiate(cfg, "data")
    summary = summarize(data)
    csv_path, png_path = write_data_record(data, run_folder(), seed=cfg.seed)
    logger.info(f"data: {describe(summary)}")
    logger.info(f"per-client counts {csv_path}, label heatmap {png_path}")
    return summary


def run_folder() -> Path:
    """Hydra's folder of this run (the working directory outside the `fedexp` command)."""
    return Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path.cwd()


def run(cfg, devices, workers=None) -> dict:
    lead = workers is None or workers.rank == 0  # the worker that records the run
    if not lead:
        logger.setLevel(logging.WARNING)
    tracker = instantiate(cfg, "tracking")
    tracker.check()
    target = find_target(cfg, tracker, run_folder())
    if target.checkpoint and cfg.get("resume") is None:
        logger.info(f"SLURM requeued this job (restart {requeued()}): resuming from {target.checkpoint}")
    if target.finished is not None:
        logger.info(f"run {target.run_id} already finished its {cfg.num_rounds} rounds; nothing to resume")
        return target.finished
    saved, run_overrides, start, changes = None, overrides(), None, []
    if target.checkpoint:
        saved = read_manifest(target.checkpoint)
        cfg, run_overrides = resumed_config(cfg, saved["overrides"])
        validate(cfg)
        # The store the run is in: the resumed config's (its saved overrides may name one), else the saved URI.
        uri = {"uri": saved["tracking_uri"]} if saved["tracking_uri"] and cfg.tracking.get("uri", "") is None else {}
        tracker = instantiate(cfg, "tracking", **uri)
    experiment = build_experiment(cfg, devices)
    split = DistributedRound(experiment.process, workers) if workers else None  # refuses a round that cannot split
    if not lead:
        tracker = NoTracker()  # (its store was read, to find what to resume)
    if saved:
        changes = check_changes(saved["config_yaml"], cfg, target.checkpoint)
        start = load(target.checkpoint, state_type=experiment.process.state_type, monitors=experiment.process.monitors,
                     manifest=saved)
    resume_run_id = target.run_id or (saved or {}).get("run_id")
    root = target.checkpoint.parent if target.checkpoint else run_folder() / "checkpoints"
    swept = tracker.sweep_axes() if tracker.enabled else []
    with tracker.run(run_name=identity.run_name(identity.choices(), swept, identity.job_values(run_overrides)),
                     tags=run_tags(run_overrides), resume_run_id=resume_run_id):
        logged = record_start(tracker, cfg, experiment, resume_run_id, start, changes, swept)
        tracker.set_tags({"fedexp.checkpoints": root.absolute(), "fedexp.resume": f"fedexp resume={root.parent.absolute()}"})
        upload = (lambda folder: tracker.log_artifacts(folder, f"checkpoints/{folder.name}")) \
            if cfg.checkpoint.log_to_mlflow else None
        checkpoints = Checkpointer(root, every=cfg.checkpoint.every, keep=cfg.checkpoint.keep, run_id=tracker.run_id,
                                   tracking_uri=getattr(tracker, "uri", None), overrides=run_overrides,
                                   config_yaml=OmegaConf.to_yaml(cfg, resolve=True), upload=upload) if lead else None

        def log_new(metrics, step):  # rounds a resumed run had logged before it stopped are not logged twice
            if step > logged:
                tracker.log_metrics(metrics, step)
        try:
            done = run_rounds(experiment, rounds=cfg.num_rounds, clients_per_round=experiment.sampled,
                              seed=cfg.seed, by_size=cfg.client_sampling == "by_size", eval_every=cfg.eval_every,
                              device=devices[0], log=log_new, on_nonfinite=cfg.on_nonfinite,
                              checkpoints=checkpoints, resume_from=start, split=split)
        except (KeyboardInterrupt, WorkerLost):
            if lead:
                print(f"fedexp: last checkpoint {checkpoints.describe_last()}; to resume: "
                      f"fedexp resume={root.parent.absolute()}", file=sys.stderr)
            raise
        if done.stopped:
            tracker.set_tags({"stopped": done.stopped})
            logger.info(f"stopped: {done.stopped}")
        log_new({"time/total_seconds": done.seconds}, step=len(done.history))
        if tracker.enabled:
            save_artifacts(cfg, tracker, experiment, done.weights, done.history)
    if not lead:
        return done.history[-1]
    print_summary(done)
    for line in tracker.describe().splitlines():
        logger.info(line)
    return done.history[-1]


def record_start(tracker, cfg, experiment, resume_run_id, start, changes, swept=()) -> int:
    """A new run's parameters (the options chosen and the swept keys first, then the whole resolved
    config), its data; for a resumed run, where it goes on from and what changed. Returns the last
    round the run has logged already."""
    if not resume_run_id:
        config = flatten(OmegaConf.to_container(cfg, resolve=True), ".")
        tracker.log_params({**identity.choices(), **{k: config[k] for k in swept if k in config}, **config})
        tracker.set_tags({"tracking.uri": getattr(tracker, "uri", "none")})
        record_data(tracker, cfg, experiment.data)
        return 0
    after = start.round if start else 0
    logger.info(f"resuming run {resume_run_id} after round {after}" + (f" from {start.folder}" if start else "")
                + "".join(f"; {c}" for c in changes))
    tracker.set_tags({"fedexp.resumed": "; ".join([f"after round {after}", *changes])})
    return tracker.logged_through(resume_run_id) if tracker.enabled else 0


def record_data(tracker, cfg, data):
    """Once per run, before round 1: the data's statistics as `data/…` params and its splits as MLflow
    dataset inputs (the per-client label counts and their heatmap go with the other artifacts at
    the end: drawing them takes ~0.7 s)."""
    summary = summarize(data)
    logger.info(f"data: {describe(summary)}")
    if not tracker.enabled:
        return
    tracker.log_params(data_params(summary))
    partition = cfg.data.get("partition") or {}
    described = " ".join([option(partition["_target_"]) if partition else "as stored",
                          *(f"{k}={v}" for k, v in partition.items() if k != "_target_")])
    tracker.log_inputs(dataset_inputs(data, name=option(cfg.data._target_), builder=cfg.data._target_,
                                      partition=described))


def option(target) -> str:
    """The option a builder belongs to (`fedexp.data.digits.build_digits` -> digits: its module)."""
    return target.rsplit(".", 2)[-2]


def print_summary(done):
    final, rounds, wall = done.history[-1], len(done.history), done.seconds
    name = headline(final)
    logger.info(f"{rounds} rounds in {wall:.1f} s ({wall / rounds:.2f} s/round; round 1 done "
                f"{done.history[0]['time/start_to_round_1_seconds']:.1f} s after start): "
                f"{name.replace('_', ' ')} accuracy {final[f'{name}/accuracy']:.4f}, "
                f"{name.replace('_', ' ')} loss {final[f'{name}/loss']:.4f}, "
                f"train accuracy {final.get('client_work/train/accuracy', float('nan')):.4f}")
