"""What Hydra itself would run from a config, refused before Hydra runs anything.

Hydra instantiates `hydra.callbacks`, the launcher and the sweeper, and hands `hydra.job_logging`
and `hydra.hydra_logging` to `logging.config.dictConfig` (which calls whatever `()` or `class`
names; `--help` does too), all before fedexp's code is reached. So the `fedexp` command first composes the config
as Hydra is about to — the same search path, `--config-path`, `--config-dir`, `--config-name`,
overrides and mode — and refuses, in one line naming the key:

- a callback other than fedexp's sweep recorder or one inside a declared plugin (`fedexp.targets`);
- a launcher or sweeper outside Hydra's plugin packages, or a `_target_` anywhere else under `hydra`;
- a logging factory other than `logging`'s handlers, formatters and filters or colorlog's
  formatters, and an `ext://` object other than sys.stdout or sys.stderr;
- an environment variable in `hydra.job.env_set`/`env_copy` outside ENVIRONMENT (LD_PRELOAD,
  PYTHONPATH and the like would load code into whatever the job starts);
- a sweep (`hydra.sweeper.params`) over Hydra's own keys, which Hydra refuses only on the command line;
- a task `_target_` that is not allowed, so a sweep's callback never builds an unchecked tracker
  (and a key the config does not have: each job checks its whole config again);
- `--experimental-rerun`, which unpickles a file;
- a sweep whose launcher runs jobs on other machines (SLURM; Ray given a cluster's address) while
  runs are recorded in an SQLite file, which other machines cannot write; and Ray's AWS launcher.

Still trusted: `hydra.searchpath` entries `pkg://<module>` import that installed package while
the config is composed, and what an allowed builder or installed Hydra plugin does with its values.
"""

import os
import re
import shutil
from pathlib import Path

from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_automatic_config_search_path, get_args_parser
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf, open_dict

from fedexp import targets
from fedexp.errors import ConfigError
from fedexp.runner.config import check_keys

CALLBACKS = ("fedexp.tracking._sweep.MlflowSweepCallback",)
MLFLOW = "fedexp.tracking.mlflow.MlflowTracker"
HYDRA_PLUGINS = ("hydra_plugins.", "hydra._internal.core_plugins.")
LOGGING = re.compile(r"logging\.(handlers\.)?\w*(Handler|Formatter|Filter)|colorlog\.\w*Formatter")
STREAMS = ("ext://sys.stdout", "ext://sys.stderr")
ENVIRONMENT = re.compile(r"(CUDA|TF|OMP|MKL|OPENBLAS|NCCL)_\w+|XLA_FLAGS")
# Launchers whose jobs run on this machine: in this process, in its worker processes, in submitit's local
# processes, or in a Ray started here (no cluster address). Any other runs them elsewhere.
LOCAL_LAUNCHERS = ("hydra._internal.core_plugins.basic_launcher.BasicLauncher",
                   "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
                   "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher")
SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
RAY = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
RAY_AWS = "hydra_plugins.hydra_ray_launcher.ray_aws_launcher.RayAWSLauncher"


def compose(argv, config_dir, calling_file):
    """The config, `hydra` node included (`hydra.mode` set), that Hydra will compose for `argv`; None for
    the commands that only print it (--cfg, --info, --shell-completion; --help and --hydra-help configure
    logging from it, so they are checked as a run). A config that does not compose is a `ConfigError`
    with Hydra's message on one line."""
    args = get_args_parser().parse_args(argv)
    if args.experimental_rerun is not None:
        raise ConfigError("--experimental-rerun unpickles a file, which can run any code; continue a run with "
                          "resume=<its folder> instead")
    if args.cfg or args.info or args.shell_completion:
        return None
    search_path = create_automatic_config_search_path(calling_file, None, args.config_path or config_dir)
    if args.config_dir is not None:
        if not os.path.isdir(args.config_dir):
            raise ConfigError(f"--config-dir: {os.path.abspath(args.config_dir)} is not a folder")
        search_path.prepend(provider="command-line", path=f"file://{os.path.abspath(args.config_dir)}",
                            anchor=SearchPathQuery(provider="schema"))
    hydra = Hydra.create_main_hydra2(task_name=Path(calling_file).stem, config_search_path=search_path)
    try:  # as Hydra.get_mode does; a run's composition can only differ from it by failing, before anything runs
        cfg = hydra.compose_config(args.config_name or "config", list(args.overrides), run_mode=RunMode.MULTIRUN,
                                   validate_sweep_overrides=False)
    except Exception as e:  # Hydra's own errors; some (a null group override) would come with a traceback
        message = str(e).split("\nConfig search path:")[0]  # Hydra's list of folders says little here
        raise ConfigError(" ".join(line.strip() for line in message.splitlines() if line.strip()) or repr(e)) from None
    finally:
        GlobalHydra.instance().clear()
    if args.multirun or cfg.hydra.mode is None:
        cfg.hydra.mode = RunMode.MULTIRUN if args.multirun else RunMode.RUN
    return cfg


def output_folder(cfg):
    """Refuses a run (or sweep) folder Hydra could not create, by creating its first missing parent and
    removing it again (permissions say too little for root)."""
    key = "hydra.sweep.dir" if cfg.hydra.mode == RunMode.MULTIRUN else "hydra.run.dir"
    try:
        folder = Path(OmegaConf.select(cfg, key)).absolute()
    except Exception:  # an interpolation only a job can resolve: Hydra will say
        return
    missing = None
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing = parent
    try:
        if missing is None and not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder")
        if missing is not None:
            missing.mkdir()
            missing.rmdir()
    except OSError as e:
        raise ConfigError(f"{key}: cannot create {folder} ({e.strerror or e})") from None


def check_launcher(cfg):
    """Refuses a sweep that runs its jobs on other machines while they record to an SQLite file, one
    on SLURM from a machine without it, and one through Ray's AWS launcher (best-effort upstream)."""
    if cfg.hydra.mode != RunMode.MULTIRUN:
        return
    launcher = OmegaConf.select(cfg, "hydra.launcher._target_")
    name = OmegaConf.select(cfg, "hydra.runtime.choices").get("hydra/launcher") or launcher
    if launcher == RAY_AWS:
        raise ConfigError(f"hydra/launcher={name}: Ray's AWS launcher is not supported (best-effort upstream); "
                          "start a Ray cluster and use hydra/launcher=ray hydra.launcher.ray.init.address=<head>:6379")
    local = launcher in LOCAL_LAUNCHERS or (launcher == RAY and not OmegaConf.select(cfg, "hydra.launcher.ray.init.address"))
    uri = OmegaConf.select(cfg, "tracking.uri")
    if not local and OmegaConf.select(cfg, "tracking._target_") == MLFLOW and (uri is None or str(uri).startswith("sqlite:")):
        raise ConfigError(f"tracking.uri: hydra/launcher={name} runs jobs on other machines, which cannot write to "
                          f"the SQLite file {uri or 'outputs/mlflow.db'}; start an MLflow server they can reach and "
                          "pass tracking.uri=http://<server>:5000 (README: Beyond one machine)")
    if launcher == SLURM and shutil.which("sbatch") is None:
        raise ConfigError(f"hydra/launcher={name}: SLURM's sbatch is not on this machine; launch the sweep from "
                          "the cluster's login node (or hydra/launcher=submitit_local to try it here)")


def refuse(key, value, allowed):
    raise ConfigError(f"{key}: {targets.shown(value)} is not allowed; {allowed}")


def check(cfg):
    """Refuses what Hydra or the sweep recorder would run from `cfg` (composed, with its `hydra` node)."""
    hydra = cfg.hydra
    for path, name, value in targets.leaves(hydra, "hydra"):
        parts = path.split(".")
        if name == "_target_":
            if parts[1] == "callbacks" and len(parts) == 4:
                if value not in CALLBACKS and not targets.in_plugin(value):
                    refuse(path, value, f"a callback is fedexp's ({CALLBACKS[0]}) or inside a declared plugin "
                                        f"({targets.PLUGINS_ENV}=<module prefix>)")
            elif parts[1] in ("launcher", "sweeper") and len(parts) == 3:
                if not (isinstance(value, str) and value.startswith(HYDRA_PLUGINS)):
                    refuse(path, value, "a launcher or sweeper is an installed Hydra plugin (hydra_plugins.…)")
            else:
                refuse(path, value, "Hydra instantiates only hydra.callbacks.<name>, hydra.launcher and hydra.sweeper")
        elif parts[1] in ("job_logging", "hydra_logging"):
            if name in ("()", "class") and not (isinstance(value, str) and LOGGING.fullmatch(value)):
                refuse(path, value, "logging is configured with logging's handlers, formatters and filters "
                                    "(logging.StreamHandler, logging.FileHandler, …) or colorlog's formatters")
            if isinstance(value, str) and value.startswith("ext://") and value not in STREAMS:
                refuse(path, value, f"the logging streams are {' and '.join(STREAMS)}")
    for name in hydra.job.get("env_set") or ():  # Hydra copies env_copy's variables into it when composing
        if not ENVIRONMENT.fullmatch(str(name)):
            refuse(f"hydra.job.env_set.{name}", name, "a config may set CUDA_*, TF_*, XLA_FLAGS, OMP_*, MKL_*, "
                                                     "OPENBLAS_*, NCCL_* (others would change the code that runs)")
    for key in (OmegaConf.select(hydra, "sweeper.params") or {}):
        if re.split(r"[./@]", str(key).lstrip("+~"))[0] == "hydra":
            refuse(f"hydra.sweeper.params.{key}", key, "a sweep varies the experiment's keys, not Hydra's")
    check_launcher(cfg)
    task = cfg.copy()
    with open_dict(task):
        del task["hydra"]
    check_keys(task)  # a key the config has, every job has: a typo is refused before Hydra starts
    targets.check(task)
    output_folder(cfg)
