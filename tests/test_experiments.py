"""Every study in conf/experiment composes, and one round of one of its jobs runs (`fedexp -m
+experiment=<study>` reruns the whole sweep; its results are in experiments/<study>/)."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from fedexp.runner.build import build_experiment
from tests.conftest import CONFIG_DIR

ROOT = Path(__file__).resolve().parents[1]
STUDIES = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def first_job(study):
    """The overrides of the sweep's first job: each swept key at its first value."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        params = compose("config", overrides=[f"+experiment={study}"], return_hydra_config=True).hydra.sweeper.params
        job = [f"{key}={str(values).split(',')[0]}" for key, values in params.items()]
        return compose("config", overrides=[f"+experiment={study}", *job]), params


@pytest.mark.parametrize("study", STUDIES)
def test_a_study_composes_and_one_round_of_its_first_job_runs(study):
    cfg, params = first_job(study)
    assert "seed" in params and len(str(params["seed"]).split(",")) >= 3  # every study: 3 seeds or more
    experiment = build_experiment(cfg)
    cohort = experiment.data.train.cohort(list(range(experiment.sampled)), batch_size=cfg.data.batch_size)
    output = experiment.process.next(experiment.process.initialize(), cohort)
    assert int(output.metrics["client_work"]["train"]["num_examples"]) > 0
    assert (ROOT / "experiments" / study / "README.md").is_file(), f"experiments/{study}/README.md: its result"
