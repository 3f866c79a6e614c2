"""A corpus of bad inputs and faults, run as a user runs them: the `fedexp` command in a fresh folder.

Every case must end with its one-line message and exit code, never a Python traceback; no case may
create the file MARKER (the configs that try to run code all aim at it); a run that cannot learn is
FAILED in MLflow with the rounds it logged. Cases run a few at a time (each is its own process).
"""

import os
import pickle
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np
import pytest

from tests.conftest import TINY, all_runs, store


class Case:
    def __init__(self, category, name, args, message, *, code=2, files=None, env=None, after=None, small=TINY):
        """`args` come first, then those of `small` (a small, fast run) that `args` do not set."""
        self.category, self.name, self.args, self.message, self.code = category, name, args, message, code
        self.files, self.env, self.after = files or {}, env or {}, after
        keys = {a.split("=")[0].lstrip("+") for a in args if "=" in a}
        self.small = [a for a in small if a.split("=")[0] not in keys]

    @property
    def id(self):
        return f"{self.category}:{self.name}"


def preset(text):
    return {"presets/algo/it.yaml": "# @package _global_\n" + text}


def emnist(pixels=lambda x: x, labels=lambda y: y):
    """Writes TFF's digits-only files of 4 writers, with writer 2's training `pixels` and `labels` edited."""
    def write(folder):
        rng = np.random.default_rng(0)
        for part, n in (("train", 12), ("test", 3)):
            with h5py.File(folder / f"fed_emnist_digitsonly_{part}.h5", "w") as f:
                for w in range(4):
                    group = f.create_group(f"examples/f{w:04d}_00")
                    x, y = rng.random((n, 28, 28)).astype(np.float32), np.arange(n, dtype=np.int32) % 10
                    edited = w == 2 and part == "train"
                    group["pixels"], group["label"] = (pixels(x), labels(y)) if edited else (x, y)
    return write


def with_nan(x):
    x[1, 3, 3], x[5, 0, 0] = np.nan, np.inf
    return x


def with_label(value):
    def edit(y):
        y[4] = value
        return y
    return edit


def failed_with(metric):
    def check(client):
        (run,) = all_runs(client)
        assert run.info.status == "FAILED" and run.data.tags.get("error"), run.info.status
        assert metric in run.data.metrics, sorted(run.data.metrics)
    return check


def a_pickle_that_writes(folder):
    class Writes:
        def __reduce__(self):
            return (open, (str(folder / "MARKER"), "w"))
    (folder / "job.pickle").write_bytes(pickle.dumps(Writes()))


OPEN_MARKER = "{_target_: builtins.open, _args_: ['{tmp}/MARKER', w]}"
EMNIST = ["data=federated_emnist", "data.path={tmp}", "data.batch_size=4", "model=linear", "clients_per_round=2",
          "num_rounds=1"]
NOT_ALLOWED = r"is not allowed; a config may name only fedexp's builders"

CASES = [
    # A config names code to run: refused before anything it names is imported (the marker stays absent).
    Case("code", "command line", ["aggregator._target_=builtins.open", "+aggregator._args_=[{tmp}/MARKER,w]"],
         r"^fedexp: error: aggregator._target_: 'builtins.open' " + NOT_ALLOWED),
    Case("code", "preset distributor", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"distributor._target_: 'os.makedirs' " + NOT_ALLOWED,
         files=preset("distributor: {_target_: os.makedirs, _args_: ['{tmp}/MARKER']}\n")),
    Case("code", "preset finalizer", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"finalizer._target_: 'shutil.copyfile' " + NOT_ALLOWED,
         files=preset("finalizer: {_target_: shutil.copyfile, _args_: ['{tmp}/presets/algo/it.yaml', "
                      "'{tmp}/MARKER']}\n")),
    Case("code", "tracking entry in a sweep", ["-m", "--config-dir", "{tmp}/presets", "+algo=it", "seed=1,2"],
         r"tracking._target_: 'pathlib.Path.touch' " + NOT_ALLOWED,
         files=preset("tracking: {_target_: pathlib.Path.touch, self: '{tmp}/MARKER'}\n")),
    Case("code", "nested in an allowed block", ["aggregator=clipping", "aggregator.inner._target_=builtins.open",
                                                "+aggregator.inner._args_=[{tmp}/MARKER,w]"],
         r"aggregator.inner._target_: 'builtins.open' " + NOT_ALLOWED),
    Case("code", "a data partition swept", ["-m", "data.partition._target_=os.mkdir,os.makedirs",
                                            "+data.partition.path={tmp}/MARKER"],
         r"data.partition._target_: 'os.mkdir' " + NOT_ALLOWED),
    Case("code", "interpolated from the environment", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"aggregator._target_: 'builtins.open' " + NOT_ALLOWED, env={"TARGET": "builtins.open"},
         files=preset("aggregator: {_target_: '${oc.env:TARGET}', _args_: ['{tmp}/MARKER', w]}\n")),
    Case("code", "made by oc.create", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"aggregator.inner._target_: 'builtins.open' " + NOT_ALLOWED,
         files=preset("defaults: [override /aggregator: clipping]\naggregator:\n  inner: "
                      "\"${oc.create:'{_target_: builtins.open, _args_: [{tmp}/MARKER, w]}'}\"\n")),
    Case("code", "hydra callback in a preset", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"hydra.callbacks.it._target_: 'builtins.open' is not allowed; a callback is fedexp's",
         files=preset(f"hydra:\n  callbacks:\n    it: {OPEN_MARKER}\n")),
    Case("code", "hydra callback in a shared primary config", ["--config-dir", "{tmp}/shared", "--config-name", "run"],
         r"hydra.callbacks.log._target_: 'subprocess.getoutput' is not allowed",
         files={"shared/run.yaml": "defaults: [config, _self_]\nhydra:\n  callbacks:\n    log:\n"
                                   "      _target_: subprocess.getoutput\n      _args_: ['touch {tmp}/MARKER']\n"}),
    Case("code", "logging factory", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"hydra.job_logging.handlers.it.\(\): 'builtins.open' is not allowed; logging is configured with",
         files=preset("hydra:\n  job_logging:\n    handlers:\n      it: {'()': builtins.open, file: '{tmp}/MARKER', "
                      "mode: w}\n")),
    Case("code", "logging factory shown --help", ["--help", "--config-dir", "{tmp}/presets", "+algo=it"],
         r"hydra.hydra_logging.handlers.it.\(\): 'builtins.open' is not allowed",
         files=preset("hydra:\n  hydra_logging:\n    handlers:\n      it: {'()': builtins.open, file: '{tmp}/MARKER', "
                      "mode: w}\n")),
    Case("code", "logging stream", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"hydra.hydra_logging.handlers.console.stream: 'ext://os.system' is not allowed",
         files=preset("hydra:\n  hydra_logging:\n    handlers:\n      console: {stream: 'ext://os.system'}\n")),
    Case("code", "launcher argument", ["-m", f"+hydra.launcher.it={OPEN_MARKER}", "seed=1,2"],
         r"hydra.launcher.it._target_: 'builtins.open' is not allowed; Hydra instantiates only"),
    Case("code", "environment of the job", ["+hydra.job.env_set.LD_PRELOAD={tmp}/evil.so"],
         r"hydra.job.env_set.LD_PRELOAD: 'LD_PRELOAD' is not allowed; a config may set CUDA_\*"),
    Case("code", "sweep over hydra", ["-m", "--config-dir", "{tmp}/presets", "+algo=it"],
         r"hydra.sweeper.params.\+hydra.callbacks.it._target_: .* a sweep varies the experiment's keys",
         files=preset("hydra:\n  sweeper:\n    params:\n      +hydra.callbacks.it._target_: builtins.open\n")),
    Case("code", "a rerun pickle", ["--experimental-rerun", "{tmp}/job.pickle"],
         r"^fedexp: error: --experimental-rerun unpickles a file", files={"": a_pickle_that_writes}),
    Case("code", "an undeclared plugin", ["aggregator._target_=tests.runner.broken_blocks.build_fixed_mean"],
         r"aggregator._target_: 'tests.runner.broken_blocks.build_fixed_mean' " + NOT_ALLOWED,
         env={"FEDEXP_PLUGINS": ""}),

    # Typos and unknown keys: the nearest valid key, before TensorFlow is imported.
    Case("typo", "added top-level key", ["+num_round=3"], r"num_round: no such key; did you mean num_rounds\?"),
    Case("typo", "British spelling", ["+evaluation.centralised=true"],
         r"evaluation.centralised: no such key; did you mean evaluation.centralized\?"),
    Case("typo", "checkpoint key", ["+checkpoint.keeep=3"], r"checkpoint.keeep: no such key; did you mean "
                                                             r"checkpoint.keep\?"),
    Case("typo", "a group used as a key", ["+optimizer.learning_rate=0.1"],
         r"optimizer: no such key; did you mean server_optimizer\? the keys here are: aggregator"),
    Case("typo", "in a preset", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"clients_per_rnd: no such key; did you mean clients_per_round\?", files=preset("clients_per_rnd: 3\n")),
    Case("typo", "a builder's argument", ["+client_optimizer.lr=0.1"],
         r"client_optimizer: build_sgdm.. got an unexpected keyword argument 'lr'; did you mean "
         r"client_optimizer.learning_rate\?"),
    Case("typo", "an option", ["aggregator=meen"],
         r"^fedexp: error: In 'config': Could not find 'aggregator/meen' Available options in 'aggregator': "
         r"clipping dp_gaussian .* zeroing$"),
    Case("typo", "a null option", ["aggregator=null"], r"^fedexp: error: Config group override must be a string"),
    Case("typo", "a section given a number", ["evaluation=5"],
         r"evaluation must be a mapping of centralized, federated, clients_per_round, found 5"),
    Case("typo", "a component that is not one", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"aggregator must be a component \(a mapping with its _target_; choose an option",
         files=preset("aggregator: 5\n")),
    Case("typo", "a type", ["num_rounds=ten"], r"num_rounds must be an integer >= 1, found 'ten'"),

    # Values out of range, wherever they come from.
    Case("range", "learning rate 0", ["client_optimizer.learning_rate=0"],
         r"client_optimizer.learning_rate must be a number > 0, found 0"),
    Case("range", "beta_2 in a preset", ["--config-dir", "{tmp}/presets", "+algo=it"],
         r"server_optimizer.beta_2 must be a number in \[0, 1\), found 1.5",
         files=preset("defaults: [override /optimizer@server_optimizer: adam]\n"
                      "server_optimizer: {learning_rate: 0.01, beta_2: 1.5}\n")),
    Case("range", "a schedule that turns negative", ["+schedules.client_work.learning_rate={kind:exponential,"
                                                     "initial:0.1,decay_rate:-0.5,decay_rounds:1}"],
         r"schedules.client_work.learning_rate must be a number > 0, found -0.05 \(its value at round 2\)"),
    Case("range", "Krum against the cohort", ["aggregator=krum", "clients_per_round=4"],
         r"aggregator.f=1 Byzantine clients need clients_per_round >= 2f \+ 3 = 5, found 4"),
    Case("range", "a trimmed mean that trims nothing", ["aggregator=trimmed_mean", "clients_per_round=5"],
         r"aggregator.beta must be at least 1/clients_per_round = 0.2 to trim anything of 5 clients"),
    Case("range", "seed", ["seed=-3"], r"seed must be an integer >= 0, found -3"),

    # Data no round can learn from, refused when loaded with the count and where.
    Case("data", "NaN and inf pixels", EMNIST,
         r"data.path: .*fed_emnist_digitsonly_train.h5 has 2 examples with a feature that is NaN or infinite, "
         r"the first in client 2", files={"": emnist(pixels=with_nan)}, small=[]),
    Case("data", "a label past the classes", EMNIST,
         r"data.path: .*fed_emnist_digitsonly_train.h5 has 1 example with a label outside 0..9 \(10 classes\), the "
         r"first in client 2", files={"": emnist(labels=with_label(12))}, small=[]),
    Case("data", "a model with too few classes", ["model.num_classes=5"],
         r"model.num_classes: the model has 5 outputs, but the data has 10 classes \(labels 0..9\)"),

    # Runs that cannot learn: FAILED, with what they logged, and the dropped clients counted.
    Case("learn", "a learning rate of 1e6", ["model=mlp", "client_optimizer.learning_rate=1e6"],
         r"training loss nan \(2 of 2 clients' updates non-finite\) after round 1; .* marked FAILED", code=1,
         after=failed_with("client_work/non_finite_updates")),
    Case("learn", "an exploding server step", ["model=mlp", "server_optimizer.learning_rate=1e37"],
         r"(non-finite|training loss nan).* after round \d; .* marked FAILED", code=1,
         after=failed_with("finalizer/update_non_finite")),

    # The tracking store: a clear error before the data and the model are built.
    Case("store", "a run folder that cannot be made", ["hydra.run.dir=/proc/fedexp/run"],
         r"^fedexp: error: hydra.run.dir: cannot create /proc/fedexp/run \(No such file or directory\)"),
    Case("store", "a folder as the database", ["tracking.uri=sqlite:///{tmp}"],
         r"tracking.uri: .* is a folder; give the database file inside it"),
    Case("store", "an unknown scheme", ["tracking.uri=mongodb://db/fedexp"],
         r"tracking.uri: 'mongodb://db/fedexp' is not a store fedexp knows"),
    Case("store", "a database without its driver", ["tracking.uri=mysql://db/fedexp"],
         r"tracking.uri: cannot open the store at mysql://db/fedexp \(ModuleNotFoundError: No module named "
         r"'MySQLdb'\); check the URI"),
]


def run(case, folder):
    folder.mkdir()
    for path, content in case.files.items():
        if callable(content):
            content(folder)
        else:
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(content.replace("{tmp}", str(folder)))
    uri = store(folder)[0]
    args = [a.replace("{tmp}", str(folder)) for a in case.args]
    uri_given = any(a.startswith("tracking.uri=") for a in args)
    command = [sys.executable, "-m", "fedexp", *args, *case.small, *([] if uri_given else [f"tracking.uri={uri}"])]
    env = {**os.environ, **case.env}
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{case id: (its finished process, its folder)}; the cases run three at a time (mostly starting up)."""
    root = tmp_path_factory.mktemp("corpus")
    with ThreadPoolExecutor(3) as pool:
        futures = {case.id: (pool.submit(run, case, root / f"case{i}"), root / f"case{i}")
                   for i, case in enumerate(CASES)}
    return {key: (future, folder) for key, (future, folder) in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_bad_input_gets_its_one_line_and_exit_code(case, results):
    future, folder = results[case.id]
    result = future.result()
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    assert result.returncode == case.code, output[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("fedexp: error:")]
    if case.code == 2 or errors:
        assert len(errors) == 1, result.stderr[-3000:]
    assert any(re.search(case.message, line) for line in output.splitlines()), output[-3000:]
    assert not (folder / "MARKER").exists()
    if case.after:
        case.after(store(folder)[1])


def test_the_corpus_covers_every_category():
    counts = {c: sum(case.category == c for case in CASES) for c in ("code", "typo", "range", "data", "learn", "store")}
    assert min(counts.values()) >= 2, counts


def test_a_typo_costs_well_under_a_second_of_startup(tmp_path):
    """Refused before TensorFlow is imported: the process never loads it."""
    probe = "import sys, runpy; sys.argv = ['fedexp', '+num_round=3']\ntry:\n    runpy.run_module('fedexp', " \
            "run_name='__main__')\nexcept SystemExit as e:\n    print('exit', e.code, 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "exit 2 False", result.stdout + result.stderr
