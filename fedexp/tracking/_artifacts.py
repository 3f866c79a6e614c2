"""What a run leaves besides its metrics: the resolved config, Hydra's folder, the final model (an
MLflow model that `mlflow.pyfunc.load_model` loads), the learning curve, and the data record
(every client's label counts and their heatmap)."""

import csv
import tempfile
from pathlib import Path

import numpy as np
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from fedexp.data._summary import label_counts
from fedexp.tracking._plots import plot_label_heatmap, plot_learning_curve


def save_artifacts(cfg, tracker, experiment, weights, history):
    """The resolved config, Hydra's .hydra folder, the final model, the learning curve and the data's
    per-client label counts and heatmap."""
    tracker.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
    if HydraConfig.initialized():
        hydra_dir = Path(HydraConfig.get().runtime.output_dir) / ".hydra"
        if hydra_dir.is_dir():
            tracker.log_artifacts(hydra_dir, "hydra")
    tracker.log_model(*keras_model(experiment.model_fn, weights, experiment.data.test.x[:1]))
    with tempfile.TemporaryDirectory() as tmp:
        plot_learning_curve(history, Path(tmp) / "learning_curve.png")
        tracker.log_artifact(Path(tmp) / "learning_curve.png", "plots")
        for path in write_data_record(experiment.data, Path(tmp), seed=cfg.seed):
            tracker.log_artifact(path, "data")


def keras_model(model_fn, weights, example):
    """(model, signature): the final model as a plain Keras model (no training configuration: it predicts
    logits), and MLflow's signature of its input and output, from one `example`."""
    import keras
    from mlflow.models import infer_signature
    model = keras.models.clone_model(model_fn())  # the same layers, not compiled
    weights.assign_weights_to(model)
    return model, infer_signature(example, keras.ops.convert_to_numpy(model(example)))


def write_data_record(split, folder, *, seed, sample=50):
    """Writes `client_counts.csv` (every client's examples per label) and `label_heatmap.png`
    (label shares of `sample` clients drawn from `seed`) into `folder`; returns their paths."""
    counts = label_counts(split.train, split.num_classes)
    csv_path, png_path = folder / "client_counts.csv", folder / "label_heatmap.png"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["client", "examples", *(f"label_{c}" for c in range(split.num_classes))])
        writer.writerows([c, int(row.sum()), *row.tolist()] for c, row in enumerate(counts))
    clients = np.sort(np.random.default_rng([seed, 4]).choice(len(counts), min(sample, len(counts)), replace=False))
    plot_label_heatmap(counts[clients], clients, png_path)
    return csv_path, png_path
