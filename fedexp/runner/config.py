"""The top level of the config: which keys there are, and their types and ranges, checked before
TensorFlow is imported (a typo costs a fraction of a second). Each component's own keys are
checked by its builder when it is built (`fedexp.runner.build`)."""

import difflib

from omegaconf import DictConfig, OmegaConf

from fedexp import checks, targets
from fedexp.errors import ConfigError, InvalidValueError
from fedexp.runner import distributed

BEHAVIORS = ("attack", "dropout", "stragglers")  # optional groups (+attack=…): what clients do besides honest training
GROUPS = ("distributor", "client_work", "aggregator", "finalizer", "model", "client_optimizer", "server_optimizer",
          "data", "tracking", *BEHAVIORS)
SETTINGS = {  # the top-level keys that are not components, and the keys of those that are sections
    "num_rounds": None, "clients_per_round": None, "eval_every": None, "client_sampling": None, "seed": None,
    "device": None, "precision": None, "jit_compile": None, "schedules": None, "on_nonfinite": None, "resume": None,
    "inspect": None, "evaluation": ("centralized", "federated", "clients_per_round"),
    "checkpoint": ("every", "keep", "log_to_mlflow"),
    "distributed": ("workers", "rank", "peers", "timeout_seconds", "startup_seconds"),
}
SAMPLING = ("uniform", "by_size")
ON_NONFINITE = ("stop", "skip_round")


def unknown(key, allowed, where=""):
    """Refuses `key`, naming the nearest allowed key."""
    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"did you mean {where}{near[0]}? " if near else ""
    raise InvalidValueError(f"{where}{key}", f"{where}{key}: no such key; {hint}the keys here are: "
                            f"{', '.join(sorted(allowed))}")


def check_keys(cfg):
    """Refuses a top-level key, or a key of a top-level section, that fedexp does not know, and a
    section or component that is not a mapping (`evaluation=5`, a preset's `aggregator: 5`)."""
    for key in cfg:
        if key not in GROUPS and key not in SETTINGS:
            unknown(key, [*GROUPS, *SETTINGS])
    for section, keys in SETTINGS.items():
        if keys:
            node = cfg.get(section)
            if not isinstance(node, DictConfig):
                raise InvalidValueError(section, f"{section} must be a mapping of {', '.join(keys)}, found {node!r}")
            for key in node:
                if key not in keys:
                    unknown(key, keys, f"{section}.")
    if not isinstance(cfg.get("schedules") or {}, (dict, DictConfig)):
        raise InvalidValueError("schedules", f"schedules must be a mapping like the hyperparameters' "
                                f"(client_work.learning_rate: {{kind: cosine, …}}), found {cfg.schedules!r}")
    for group in GROUPS:
        node = cfg.get(group)
        if node is not None and not (isinstance(node, DictConfig) and "_target_" in node):
            shown = OmegaConf.to_yaml(node).strip() if isinstance(node, DictConfig) else repr(node)
            raise InvalidValueError(group, f"{group} must be a component (a mapping with its _target_; choose an "
                                    f"option, see fedexp --help), found {shown}")


def validate(cfg):
    """Checks the top-level keys and every `_target_` (`fedexp.targets`); each component checks its own
    keys when it is built."""
    check_keys(cfg)
    targets.check(cfg)
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(f"{missing[0]} must be set (the config leaves it ???), e.g. {missing[0]}=…")
    for key, minimum in (("num_rounds", 1), ("clients_per_round", 1), ("eval_every", 0), ("seed", 0)):
        checks.integer(key, cfg.get(key), at_least=minimum)
    checks.boolean("jit_compile", cfg.get("jit_compile"))
    checks.one_of("client_sampling", cfg.get("client_sampling"), SAMPLING)
    checks.one_of("on_nonfinite", cfg.get("on_nonfinite"), ON_NONFINITE)
    checks.integer("checkpoint.every", cfg.checkpoint.get("every"), at_least=0)
    checks.integer("checkpoint.keep", cfg.checkpoint.get("keep"), at_least=1)
    checks.boolean("checkpoint.log_to_mlflow", cfg.checkpoint.get("log_to_mlflow"))
    distributed.validate(cfg.distributed)
    if cfg.distributed.workers > 1 and (cfg.get("dropout") or {}).get("over_selection"):
        checks.refuse("dropout.over_selection", "keeping the first clients_per_round that report needs the whole "
                                                "cohort in one process: not with distributed.workers > 1")
    if cfg.distributed.workers > 1 and (cfg.get("attack") or {}).get("_target_", "").endswith("little_is_enough"):
        checks.refuse("attack", "little_is_enough crafts from the whole cohort's honest updates: not with "
                                "distributed.workers > 1")
    if cfg.distributed.workers > cfg.clients_per_round:
        checks.refuse("distributed.workers", f"{cfg.distributed.workers} workers exceed clients_per_round="
                                             f"{cfg.clients_per_round}: every worker trains a share of each cohort")
