"""What tells a run apart in MLflow's run list: its name, the options it chose as short params, the
system tags MLflow's own columns read (user, source, git commit) and a description holding the
command that reruns it.

A sweep's axes are the keys its overrides sweep (`a=1,2`, `range(…)`, `choice(…)`, and
`hydra.sweeper.params`), by the names a table uses: `+algo` is `algo`,
`optimizer@client_optimizer` is `client_optimizer`, a config key is itself.
"""

import getpass
import shlex
import subprocess
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode

import fedexp

CONFIG_FLAGS = ("-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir")
SHORT = {"learning_rate": "lr"}
# A sweep's children are drawn in matplotlib's ten colours by job number (MLflow's UI reads `mlflow.runColor`;
# its own colours, hashed from run ids, often give two children the same one); the parent in grey.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
           "#393b79")
PARENT_COLOR = "#7f7f7f"


def parse(overrides):
    return OverridesParser.create().parse_overrides(list(overrides))


def axis(override) -> str:
    """The name an override's key goes by in params, names and the comparison."""
    return override.package if override.package else override.key_or_group


def sweep_axes(overrides, sweeper_params=None) -> dict:
    """{axis: [value, …]} of every override that sweeps, then of `hydra.sweeper.params` ({key: "a,b"})."""
    given = list(overrides) + [f"{k}={v}" for k, v in (sweeper_params or {}).items()]
    axes = {}
    for override in parse(given):
        if override.is_sweep_override():
            values = [override.get_value_element_as_str()] if override.is_interval_sweep() \
                else list(override.sweep_string_iterator())
            axes.setdefault(axis(override), values)
    return axes


def job_values(overrides) -> dict:
    """{axis: value} of a job's own overrides (each a single value)."""
    return {axis(o): o.get_value_element_as_str() for o in parse(overrides) if o.value() is not None}


def choices() -> dict:
    """The option every config group chose, by short name (`algo` is "none" without a preset)."""
    if not HydraConfig.initialized():
        return {}
    chosen = {group.split("@")[-1]: option for group, option in HydraConfig.get().runtime.choices.items()
              if not group.startswith("hydra/") and option is not None}
    return {"algo": chosen.pop("algo", "none"), **chosen}


def short_names(keys) -> dict:
    """{key: the shortest name that still tells it from the others}: the last part of a dotted key,
    with `learning_rate` as `lr`; the whole key where two last parts are the same."""
    def shorten(key):
        return ".".join(SHORT.get(part, part) for part in key.split("."))
    last = {key: shorten(key.split(".")[-1]) for key in keys}
    return {key: name if list(last.values()).count(name) == 1 else shorten(key) for key, name in last.items()}


def run_name(chosen, swept=(), values=None) -> str:
    """A sweep's child: its algorithm and the values it swept (`fedavg_clip lr=0.05`); a single run:
    its algorithm (the preset, else its client work and aggregator) and model."""
    base, in_base = chosen.get("algo", "none"), ("algo",)
    if base == "none":
        base, in_base = f"{chosen.get('client_work')}+{chosen.get('aggregator')}", ("client_work", "aggregator")
    if not swept:
        return f"{base} {chosen.get('model')}" if chosen else None
    names = short_names(swept)
    shown = [f"{names[k]}={(values or {}).get(k, '')}" for k in swept if k not in in_base]
    return " ".join([base, *shown])[:250]


def job_color() -> dict:
    """`mlflow.runColor` of a sweep's job, by its number; {} outside a sweep."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return {}
    return {"mlflow.runColor": PALETTE[HydraConfig.get().job.num % len(PALETTE)]}


def git_commit():
    """The commit of the working directory's repository (the researcher's), else of fedexp's source."""
    for folder in (Path.cwd(), Path(fedexp.__file__).parent):
        try:
            found = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=folder)
        except OSError:
            return None
        if found.returncode == 0:
            return found.stdout.strip()
    return None


def command(overrides) -> str:
    """The command that reruns this job alone: `fedexp`, the config flags it was given, its overrides."""
    argv, flags = sys.argv[1:], []
    for i, arg in enumerate(argv):
        if arg.split("=")[0] in CONFIG_FLAGS:
            flags += [arg] if "=" in arg else argv[i:i + 2]
    return " ".join(["fedexp", *map(shlex.quote, [*flags, *overrides])])


def system_tags(overrides) -> dict:
    """MLflow's own tags: user, source, git commit; and the description (`mlflow.note.content`)."""
    script = Path(sys.argv[0])
    tags = {"mlflow.user": getpass.getuser(), "mlflow.source.type": "LOCAL",  # `python -m fedexp` is fedexp too
            "mlflow.source.name": script.parent.name if script.name == "__main__.py" else script.name,
            "mlflow.note.content": f"Rerun it: `cd {shlex.quote(str(Path.cwd()))} && {command(overrides)}`"}
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags
