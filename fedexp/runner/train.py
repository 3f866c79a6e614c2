"""The round loop: validate, build, then train and record every round."""

import subprocess
import tempfile
import time
from pathlib import Path

import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf
from tqdm import tqdm

import fedexp
from fedexp.data._sampling import cohorts
from fedexp.schedules import apply_schedules
from fedexp.data._summary import describe, summarize, write_summary
from fedexp.runner.build import build_experiment, instantiate
from fedexp.runner.device import precision_policy, select_devices
from fedexp.runner.errors import ConfigError
from fedexp.tracking.plots import plot_learning_curve


def flatten(tree, sep, prefix=""):
    """{"a": {"b": 1}, "c": ()} -> {"a<sep>b": 1}: nested keys joined; empty tuples vanish, lists are values."""
    if hasattr(tree, "_asdict"):
        tree = tree._asdict()
    elif isinstance(tree, tuple):
        tree = {str(i): v for i, v in enumerate(tree)}
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out.update(flatten(v, sep, f"{prefix}{k}{sep}"))
        return out
    return {prefix[:-len(sep)]: tree}


SAMPLING = ("uniform", "by_size")


def validate(cfg):
    """Checks the top-level keys; each component checks its own when it is built."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(f"{missing[0]} must be set (the config leaves it ???), e.g. {missing[0]}=…")
    for key, minimum in (("num_rounds", 1), ("clients_per_round", 1), ("eval_every", 0), ("seed", 0)):
        value = cfg.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"{key} must be an integer >= {minimum}, found {value!r}")
    if not isinstance(cfg.get("jit_compile"), bool):
        raise ConfigError(f"jit_compile must be true or false, found {cfg.get('jit_compile')!r}")
    if cfg.get("client_sampling") not in SAMPLING:
        raise ConfigError(f"client_sampling must be one of {list(SAMPLING)}, found {cfg.get('client_sampling')!r}")


def run_tags(cfg) -> dict:
    tags = {"fedexp.version": fedexp.__version__}
    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        tags.update({f"choice.{group}": option for group, option in hydra_cfg.runtime.choices.items()
                     if not group.startswith("hydra/") and option is not None})
        tags["algo"] = hydra_cfg.runtime.choices.get("algo") or "none"
        tags["overrides"] = " ".join(hydra_cfg.overrides.task)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(fedexp.__file__).parent)
        if commit.returncode == 0:
            tags["mlflow.source.git.commit"] = commit.stdout.strip()
    except OSError:
        pass
    return tags


def global_norm(weights) -> float:
    return float(tf.linalg.global_norm(list(weights.trainable)))


def train(cfg) -> dict:
    """Runs one experiment and returns its final metrics; raises `ConfigError` before training on bad input.
    With `inspect` set, only describes the data (see `inspect`)."""
    validate(cfg)
    if cfg.get("inspect"):
        return inspect(cfg)
    devices = select_devices(cfg.device)
    with tf.device(devices[0]), precision_policy(cfg.precision):
        return run(cfg, devices)


def inspect(cfg) -> dict:
    """`fedexp data=… +inspect=true`: prints the data summary and writes its CSV and heatmap
    into the run folder, without training or recording anything."""
    data = instantiate(cfg, "data")
    summary = summarize(data)
    folder = Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path.cwd()
    csv_path, png_path = write_summary(data, folder, seed=cfg.seed)
    print(f"fedexp: data: {describe(summary)}\nfedexp: per-client counts {csv_path}, label heatmap {png_path}")
    return summary


def headline(metrics):
    """The run's evaluation: centralized when there is one, else federated."""
    return "eval" if "eval/accuracy" in metrics else "eval_federated"


def run(cfg, devices) -> dict:
    tracker = instantiate(cfg, "tracking")
    tracker.check()
    experiment = build_experiment(cfg, devices)
    process, data, privacy = experiment.process, experiment.data, experiment.privacy
    rounds, per_round, seed = cfg.num_rounds, cfg.clients_per_round, cfg.seed
    history = []

    with tracker.run(run_name=run_name(cfg), tags=run_tags(cfg)):
        tracker.log_params(flatten(OmegaConf.to_container(cfg, resolve=True), "."))
        tracker.set_tags({"tracking.uri": getattr(tracker, "uri", "none")})
        log_data_summary(cfg, tracker, data)
        start = time.perf_counter()
        state = process.initialize()
        schedules = experiment.schedules
        last_eval = None
        bar = tqdm(total=rounds, desc="fedexp", unit="round")
        tick = time.perf_counter()
        for round_num, _, cohort in cohorts(data, per_round, range(1, rounds + 1), seed=seed,
                                            by_size=cfg.client_sampling == "by_size", device=devices[0]):
            state = apply_schedules(process, state, schedules, round_num)
            output = process.next(state, cohort)
            state = output.state
            metrics = {k: float(v) for k, v in flatten(output.metrics, "/").items()}
            seconds = time.perf_counter() - tick
            metrics["time/round_seconds"] = seconds
            metrics["time/examples_per_second"] = metrics.get("client_work/train/num_examples", 0.0) / seconds
            metrics.update({f"hparams/{k}": float(v) for k, v in
                            flatten(process.get_hparams(state), "/").items()})
            weights = process.get_model_weights(state)
            metrics["model/global_norm"] = global_norm(weights)
            stop = None
            if privacy:
                metrics["privacy/epsilon"] = privacy.record(metrics[privacy.metric])
                if privacy.next_round_exceeds_budget():
                    stop = f"epsilon budget {privacy.epsilon_budget} reached after round {round_num}"
            if round_num == rounds or stop or (cfg.eval_every and round_num % cfg.eval_every == 0):
                metrics.update(experiment.evaluate(weights, round_num))
            if round_num == 1:
                to_round_1 = metrics["time/start_to_round_1_seconds"] = time.perf_counter() - fedexp.PROCESS_START
            tracker.log_metrics(metrics, step=round_num)
            history.append({"round": round_num, **metrics})
            last_eval = metrics.get(f"{headline(metrics)}/accuracy", last_eval)
            bar.set_postfix(progress_postfix(metrics, last_eval), refresh=False)
            bar.update()
            if stop:
                tracker.set_tags({"stopped": stop})
                break
            tick = time.perf_counter()
        bar.close()
        if stop:
            print(f"fedexp: stopped: {stop}")
        wall = time.perf_counter() - start
        rounds = round_num
        tracker.log_metrics({"time/total_seconds": wall}, step=rounds)
        if tracker.enabled:
            save_artifacts(cfg, tracker, experiment, weights, history)
    final = history[-1]
    name = headline(final)
    print(f"fedexp: {rounds} rounds in {wall:.1f} s ({wall / rounds:.2f} s/round; round 1 done {to_round_1:.1f} s "
          f"after start): "
          f"{name.replace('_', ' ')} accuracy {final[f'{name}/accuracy']:.4f}, "
          f"{name.replace('_', ' ')} loss {final[f'{name}/loss']:.4f}, "
          f"train accuracy {final.get('client_work/train/accuracy', float('nan')):.4f}")
    print(f"fedexp: {tracker.describe()}")
    return final


def run_name(cfg):
    if HydraConfig.initialized():
        choices = HydraConfig.get().runtime.choices
        return f"{choices.get('algo') or choices.get('client_work')}-{choices.get('model')}"
    return None


def progress_postfix(metrics, last_eval) -> dict:
    postfix = {"train_acc": f"{metrics.get('client_work/train/accuracy', float('nan')):.3f}"}
    if last_eval is not None:
        postfix["eval_acc"] = f"{last_eval:.3f}"
    postfix["s/round"] = f"{metrics['time/round_seconds']:.3f}"
    return postfix


def log_data_summary(cfg, tracker, data):
    """Once per run, before round 1: `data/…` at step 0 (the per-client label counts and
    their heatmap go with the other artifacts at the end: drawing them takes ~0.7 s)."""
    summary = summarize(data)
    print(f"fedexp: data: {describe(summary)}")
    tracker.log_metrics({f"data/{k}": v for k, v in summary.items()}, step=0)


def save_artifacts(cfg, tracker, experiment, weights, history):
    """The resolved config, Hydra's .hydra folder, the final model, the learning curve and the data's
    per-client label counts and heatmap."""
    tracker.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
    if HydraConfig.initialized():
        hydra_dir = Path(HydraConfig.get().runtime.output_dir) / ".hydra"
        if hydra_dir.is_dir():
            tracker.log_artifacts(hydra_dir, "hydra")
    with tempfile.TemporaryDirectory() as tmp:
        model = experiment.model_fn()
        weights.assign_to(model)
        model.save(Path(tmp) / "model.keras")
        tracker.log_artifact(Path(tmp) / "model.keras", "model")
        plot_learning_curve(history, Path(tmp) / "learning_curve.png")
        tracker.log_artifact(Path(tmp) / "learning_curve.png", "plots")
        for path in write_summary(experiment.data, Path(tmp), seed=cfg.seed):
            tracker.log_artifact(path, "data")
