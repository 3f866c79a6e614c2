"""Which `_target_` a config may name (DESIGN: the trust boundary). Configs get shared — a
colleague's preset, a sweep, a `config.yaml` from an MLflow run — so they are data: a `_target_`
is either the builder of an option fedexp ships (`fedexp/conf/<group>/<option>.yaml`) or lies
inside a plugin the user declared outside every config, as a module prefix in the environment
variable `FEDEXP_PLUGINS` (comma-separated) or as an installed package's entry point in the group
`fedexp.plugins` (its value is the module prefix). Checked on the resolved config before anything
it names is imported."""

import functools
import os
import re
from importlib.metadata import entry_points
from pathlib import Path

from omegaconf import DictConfig, ListConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from fedexp.errors import ConfigError

CONF = Path(__file__).parent / "conf"
PLUGINS_ENV = "FEDEXP_PLUGINS"
ENTRY_POINT_GROUP = "fedexp.plugins"
MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
HOW = (f"a config may name only fedexp's builders (those of conf/<group>/<option>.yaml) or a plugin declared "
       f"outside it: {PLUGINS_ENV}=<module prefix> or an entry point in the group '{ENTRY_POINT_GROUP}'")


@functools.cache
def builders() -> frozenset:
    """The top-level `_target_` of every option file fedexp ships (presets in `algo/` and studies in
    `experiment/` only combine them)."""
    found = set()
    for path in CONF.glob("*/**/*.yaml"):
        if path.parent.name not in ("algo", "experiment"):
            found.update(re.findall(r"^_target_:\s*([\w.]+)\s*$", path.read_text(), flags=re.MULTILINE))
    return frozenset(found)


def plugins() -> tuple:
    """The module prefixes the user declared (read each time: a test or a notebook may set them)."""
    declared = [p.strip() for p in os.environ.get(PLUGINS_ENV, "").split(",") if p.strip()]
    declared += [ep.value.split(":")[0].strip() for ep in entry_points(group=ENTRY_POINT_GROUP)]
    for prefix in declared:
        if not MODULE.fullmatch(prefix):
            raise ConfigError(f"{PLUGINS_ENV}: {prefix!r} is not a module prefix (e.g. mylab.blocks)")
    return tuple(declared)


def in_plugin(target) -> bool:
    return isinstance(target, str) and any(target.startswith(prefix + ".") for prefix in plugins())


def allowed(target) -> bool:
    """A fedexp builder, or a name inside a declared plugin."""
    return isinstance(target, str) and (target in builders() or in_plugin(target))


UNRESOLVED = object()  # a value whose interpolation cannot be resolved where it is checked


def shown(value) -> str:
    return "a value that cannot be resolved here" if value is UNRESOLVED else repr(value)


def leaves(node, key="", depth=0):
    """Yields `(path, name, value)` for every value under `node` (a config, or plain dicts and lists), each
    interpolation resolved (`oc.create` can make a whole node; a value that cannot be resolved here is
    `UNRESOLVED`, a missing one `???` is left out)."""
    if depth > 32:
        raise ConfigError(f"{key}: nested more than 32 levels deep (an interpolation that refers to itself?)")
    names = node.keys() if isinstance(node, (dict, DictConfig)) else \
        range(len(node)) if isinstance(node, (list, ListConfig)) else ()
    for name in names:
        path = f"{key}.{name}" if key else str(name)
        try:
            value = node[name]
        except MissingMandatoryValue:
            continue
        except OmegaConfBaseException:
            value = UNRESOLVED
        if isinstance(value, (dict, list, DictConfig, ListConfig)):
            yield from leaves(value, path, depth + 1)
        else:
            yield path, name, value


def check(node, key=""):
    """Refuses the first `_target_` under `node` that is neither a fedexp builder nor in a declared plugin."""
    for path, name, target in leaves(node, key):
        if name == "_target_" and not allowed(target):
            raise ConfigError(f"{path}: {shown(target)} is not allowed; {HOW}")
