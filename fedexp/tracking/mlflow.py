"""MLflow is the record (DESIGN decision 6): one run per job, a parent run per sweep.

The default store is an SQLite file under `outputs/` (an absolute path; nothing to
start). A run's status is FINISHED, FAILED (with the error as a tag and an artifact)
or KILLED on Ctrl-C, SIGTERM or SIGINT (tag `interrupted`); whatever was logged before stays.
A resumed run is the same run, RUNNING again.
"""

import contextlib
import fcntl
import functools
import json
import os
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from fedexp.errors import ConfigError, InvalidValueError
from fedexp.runner.signals import uninterrupted

# The MLflow run of the sweep this process's job belongs to (see `set_sweep_parent`); a distributed job's
# workers, started on this machine by the job's own process (`fedexp.runner.cli.start_group`), get it from there.
_SWEEP_PARENT = [os.environ.get("FEDEXP_SWEEP_PARENT")]
# MLflow 3's UI shows an experiment as GenAI (traces) or model training (runs): up to 3.x by the experiment's
# kind tag, since 3.1x by a per-browser switch that a link's `workflowType` sets. fedexp sets both.
KIND = ("mlflow.experimentKind", "custom_model_development")
UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves
TRAINING_VIEW = "?workflowType=machine_learning"
LIGHT_UI = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"
SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks")
_BATCH = 100  # params and tags per log_batch call (the MLflow REST API's limit)


def set_sweep_parent(run_id):
    """Makes this process's jobs children of sweep run `run_id` (None: not in a sweep). The sweep callback
    calls it as each job starts, in the job's own process, from the state it was launched with: a launcher
    that runs jobs on other machines (SLURM, Ray) carries it, where it would not carry the environment."""
    _SWEEP_PARENT[0] = run_id


def sweep_parent():
    """The run id of the sweep this process's job belongs to, or None."""
    return _SWEEP_PARENT[0]


def default_uri() -> str:
    return f"sqlite:///{Path('outputs', 'mlflow.db').absolute()}"


def readable(value) -> float:
    """A float32 measurement by its shortest decimal (0.905, not 0.9050000309944153: the same float32),
    so that tables and the UI show what was measured; any other value as it is."""
    value = float(value)
    single = np.float32(value)
    return float(str(single)) if float(single) == value and np.isfinite(single) else value


def whole(write):
    """A write to the store that a SIGTERM or SIGINT does not cut in the middle (`uninterrupted`)."""
    @functools.wraps(write)
    def wrapper(*args, **kwargs):
        with uninterrupted():
            return write(*args, **kwargs)
    return wrapper


def check_sqlite_path(database: Path):
    """Refuses an SQLite store path that is a folder, a file that is not an SQLite database, or a
    place where the database cannot be written."""
    def refuse(problem):
        raise InvalidValueError("tracking.uri", f"tracking.uri: {database} {problem}")
    database = database.absolute()
    if database.is_dir():
        refuse("is a folder; give the database file inside it, e.g. sqlite:///" + str(database / "mlflow.db"))
    if database.exists():
        with open(database, "rb") as f:
            header = f.read(16)
        if header and header != b"SQLite format 3\x00":
            refuse("is not an SQLite database")
        if not os.access(database, os.W_OK):
            refuse("is not writable")
        return
    folder = next((p for p in database.parents if p.exists()), None)
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        refuse(f"cannot be created: {folder} is not a writable folder")


@contextlib.contextmanager
def store_lock(uri):
    """Holds `<database>.lock` exclusively while the block runs, for an SQLite store: processes started
    at the same moment on a new store would otherwise all create its tables (MLflow does not guard it)."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    database = Path(uri.removeprefix("sqlite:///"))
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def without_resume(overrides: str) -> str:
    """Command-line overrides as recorded in a run's `overrides` tag, less `resume=…`."""
    return " ".join(o for o in overrides.split() if not o.startswith("resume="))


class MlflowTracker:
    enabled = True

    def __init__(self, *, uri=None, experiment_name="fedexp"):
        self.uri = uri or default_uri()
        self.experiment_name = experiment_name
        self.run_id = None
        self._client = None
        self._experiment_id = None

    @property
    def client(self):
        if self._client is None:
            from mlflow import MlflowClient  # imported when a run needs it: MLflow takes ~1 s to import
            with store_lock(self.uri):
                client = MlflowClient(tracking_uri=self.uri)
                client.search_experiments(max_results=1)  # a new store's tables are made here, by one process
            self._client = client
        return self._client

    def check(self):
        """Fails early, with one line, when the store cannot be used: an unknown kind of URI, an SQLite
        path that is a folder, not a database or not writable, a server that is not there, an empty
        or deleted experiment. Opens (and if new, creates) the store and the experiment."""
        if not isinstance(self.experiment_name, str) or not self.experiment_name.strip():
            raise InvalidValueError("tracking.experiment_name", "tracking.experiment_name must be a non-empty "
                                    f"name, found {self.experiment_name!r}")
        scheme = self.uri.split("://", 1)[0] if "://" in self.uri else None
        if scheme is None or scheme.split("+")[0] not in SCHEMES:
            raise InvalidValueError("tracking.uri", f"tracking.uri: {self.uri!r} is not a store fedexp knows; allowed: "
                                    "sqlite:///<absolute path>.db, http(s)://<MLflow server>, or a database URI "
                                    "(postgresql://, mysql://, mssql://)")
        if scheme == "sqlite":
            check_sqlite_path(Path(self.uri.removeprefix("sqlite:///")))
        if scheme in ("http", "https"):
            try:
                urllib.request.urlopen(self.uri.rstrip("/") + "/health", timeout=5).close()
            except (urllib.error.URLError, OSError) as e:
                raise ConfigError(f"tracking.uri: cannot reach the MLflow server at {self.uri} "
                                  f"({getattr(e, 'reason', e)}); start it or choose tracking=none") from None
        try:
            self.experiment_id()
        except ConfigError:
            raise
        except Exception as e:  # a database whose driver is not installed, or whose server is not there
            raise ConfigError(f"tracking.uri: cannot open the store at {self.uri} ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}); check the URI, the database's "
                              f"Python driver and its server, or choose tracking=none") from None

    def experiment_id(self) -> str:
        """The experiment's id, creating it (and the store) if needed, marked as a training experiment."""
        if self._experiment_id is None:
            self._experiment_id = self._open_experiment()
        return self._experiment_id

    def _open_experiment(self) -> str:
        client = self.client
        with store_lock(self.uri):  # two processes must not both create it
            experiment = client.get_experiment_by_name(self.experiment_name)
            if experiment is not None and experiment.lifecycle_stage == "deleted":
                raise InvalidValueError("tracking.experiment_name", (
                    f"tracking.experiment_name: the experiment '{self.experiment_name}' was deleted; restore it "
                    f"(MLFLOW_TRACKING_URI={self.uri} mlflow experiments restore --experiment-id "
                    f"{experiment.experiment_id}) or choose another name"))
            if experiment is not None:
                if KIND[0] not in experiment.tags:  # a kind the user chose in the UI stays
                    client.set_experiment_tag(experiment.experiment_id, *KIND)
                return experiment.experiment_id
            artifacts = None
            if self.uri.startswith("sqlite:///"):  # keep artifacts next to the store, not in the cwd
                artifacts = (Path(self.uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
            return client.create_experiment(self.experiment_name, artifact_location=artifacts, tags=dict([KIND]))

    @contextlib.contextmanager
    def run(self, *, run_name=None, tags=None, parent_run_id=None, resume_run_id=None):
        """Opens a run, or marks run `resume_run_id` RUNNING again (without the tags of how it
        ended); closes it FINISHED, FAILED or KILLED as the block ends."""
        tags = dict(tags or {})
        parent_run_id = parent_run_id or sweep_parent()
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        if resume_run_id:
            self.run_id = resume_run_id
            self.client.update_run(resume_run_id, status="RUNNING")
            ended = self.client.get_run(resume_run_id).data.tags
            for key in ("interrupted", "error", "stopped"):
                if key in ended:
                    self.client.delete_tag(resume_run_id, key)
        else:
            if parent_run_id and run_name:
                run_name = self._unique_among_siblings(run_name, parent_run_id)
            self.run_id = self.client.create_run(self.experiment_id(), run_name=run_name, tags=tags).info.run_id
        try:
            yield self
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGINT through fedexp.runner.signals
            self.client.set_tag(self.run_id, "interrupted", str(e) or "KeyboardInterrupt")
            self.client.set_terminated(self.run_id, "KILLED")
            raise
        except BaseException as e:
            self.client.set_tag(self.run_id, "error", f"{type(e).__name__}: {e}"[:5000])
            self.client.log_text(self.run_id, traceback.format_exc(), "error.txt")
            self.client.set_terminated(self.run_id, "FAILED")
            raise
        self.client.set_terminated(self.run_id, "FINISHED")

    def _unique_among_siblings(self, name, parent_run_id) -> str:
        """`name`, or `name (2)`, … when a run under the same parent has it (a sweep that repeats a value)."""
        taken = {run.info.run_name for run in self.client.search_runs(
            [self.experiment_id()], f"tags.`mlflow.parentRunId` = '{parent_run_id}'", max_results=50000)}
        return next(n for n in [name] + [f"{name} ({i})" for i in range(2, len(taken) + 2)] if n not in taken)

    def sweep_axes(self) -> list:
        """The keys this job's sweep varies (its parent run's `fedexp.swept` tag), or [] outside a sweep."""
        parent = sweep_parent()
        run = self.get_run(parent) if parent else None
        return json.loads(run.data.tags.get("fedexp.swept", "[]")) if run else []

    def get_run(self, run_id):
        """The run with this id, or None."""
        from mlflow.exceptions import MlflowException
        try:
            return self.client.get_run(run_id)
        except MlflowException:
            return None

    def last_run_with(self, overrides: str, *, sweep=False):
        """The newest run of this experiment made with these command-line `overrides` (a `resume=`
        aside): a sweep's parent run (`sweep`), or a run under the same parent as this process's;
        None if there is none."""
        parent = None if sweep else sweep_parent()
        for run in self.client.search_runs([self.experiment_id()], order_by=["attributes.start_time DESC"],
                                           max_results=50000):
            tags = run.data.tags
            if (tags.get("mlflow.parentRunId") == parent and ("fedexp.sweep" in tags) == sweep
                    and without_resume(tags.get("overrides", "")) == without_resume(overrides)):
                return run
        return None

    def logged_through(self, run_id) -> int:
        """The last round run `run_id` logged (0: none)."""
        return max((m.step for m in self.client.get_metric_history(run_id, "time/round_seconds")), default=0)

    @whole
    def log_params(self, params: dict):
        from mlflow.entities import Param
        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, params=items[i:i + _BATCH])

    @whole
    def set_tags(self, tags: dict):
        from mlflow.entities import RunTag
        items = [RunTag(k, str(v)[:5000]) for k, v in tags.items()]
        for i in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, tags=items[i:i + _BATCH])

    @whole
    def log_metrics(self, metrics: dict, step: int):
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, readable(v), now, step) for k, v in metrics.items()])

    @whole
    def log_artifact(self, path, artifact_path=None):
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    @whole
    def log_artifacts(self, directory, artifact_path=None):
        self.client.log_artifacts(self.run_id, str(directory), artifact_path)

    @whole
    def log_text(self, text, artifact_file):
        self.client.log_text(self.run_id, text, artifact_file)

    @whole
    def log_inputs(self, datasets):
        """`mlflow.entities.DatasetInput`s: the Dataset column and the run's Datasets section."""
        self.client.log_inputs(self.run_id, datasets=datasets)

    @whole
    def log_model(self, model, signature):
        """A Keras model in MLflow's TensorFlow flavor, as this run's logged model `model`
        (`mlflow.pyfunc.load_model(f"runs:/{run_id}/model")` loads it)."""
        import mlflow
        import tensorflow as tf
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(self.uri)  # the flavor writes through MLflow's global client
        try:
            logged = self.client.create_logged_model(self.experiment_id(), name="model", source_run_id=self.run_id)
            mlflow.tensorflow.log_model(model, name="model", model_id=logged.model_id, run_id=self.run_id,
                                        signature=signature, pip_requirements=[f"tensorflow=={tf.__version__}"])
        finally:
            mlflow.set_tracking_uri(previous)

    def url(self, run_id=None) -> str:
        """The run's page in the MLflow UI (`mlflow ui`'s address for a local store)."""
        base = self.uri.rstrip("/") if self.uri.startswith(("http://", "https://")) else UI
        return f"{base}/#/experiments/{self.experiment_id()}/runs/{run_id or self.run_id}{TRAINING_VIEW}"

    def ui_command(self) -> str:
        """How to see a local store, lightly: one web worker and no GenAI job runner (its seven task queues)
        start in ~6 s in 0.5 GB, where `mlflow ui`'s defaults take ~13 s and 2.5 GB (README)."""
        if self.uri.startswith(("http://", "https://")):
            return f"open {self.uri}"
        return f"{LIGHT_UI} mlflow ui --backend-store-uri {self.uri} --workers 1"

    def describe(self) -> str:
        """Where to look at the run (and, outside a sweep, which prints it once at the end, how)."""
        where = f"MLflow run {self.run_id}: {self.url()}"
        return where if sweep_parent() else f"{where}\nto see it: {self.ui_command()}"
