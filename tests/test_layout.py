"""The house rules, checked on the tree: every option's three homes line up, modules that are not
options say so, YAML options agree with their builders' Python defaults, and imports run down the
layers without a circle."""

import ast
import inspect
import math
from pathlib import Path

import hydra
import pytest
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
CONF, PACKAGE, TESTS = ROOT / "conf", ROOT / "fedexp", ROOT / "tests"
OPTIONS = sorted(p.relative_to(CONF) for p in CONF.rglob("*.yaml")
                 if p.parent != CONF and p.relative_to(CONF).parts[0] not in ("algo", "experiment"))  # no builder
GROUPS = sorted({option.parent for option in OPTIONS})

# Layers, bottom first: an import may point down or sideways, never up.
LAYERS = [("fedexp.errors", "fedexp.checks", "fedexp.targets", "fedexp.templates", "fedexp.core",
           "fedexp.model"),
          ("fedexp.distributor", "fedexp.client_work", "fedexp.aggregator", "fedexp.finalizer", "fedexp.optimizer",
           "fedexp.data", "fedexp.attack", "fedexp.dropout", "fedexp.stragglers"),
          ("fedexp.algorithms", "fedexp.evaluation", "fedexp.schedules"),
          ("fedexp.runner", "fedexp.tracking", "fedexp.__main__")]


@pytest.mark.parametrize("option", OPTIONS, ids=str)
def test_every_option_has_its_module_builder_and_test(option):
    module = ".".join(("fedexp", *option.with_suffix("").parts))
    target = OmegaConf.load(CONF / option).get("_target_")
    assert target is not None, f"conf/{option} has no _target_"
    assert target.rsplit(".", 1)[0] == module, f"conf/{option}: _target_ {target} is not in {module}"
    assert callable(hydra.utils.get_method(target))
    test = TESTS / option.parent / f"test_{option.stem}.py"
    assert test.is_file(), f"conf/{option} has no {test.relative_to(ROOT)}"


@pytest.mark.parametrize("group", GROUPS, ids=str)
def test_modules_that_are_not_options_are_marked(group):
    options = {p.stem for p in (CONF / group).glob("*.yaml")}
    unmarked = {p.stem for p in (PACKAGE / group).glob("*.py")} - options - {"__init__"}
    assert not {m for m in unmarked if not m.startswith("_")}, \
        f"fedexp/{group}: modules that are not options need a leading underscore"


# Keys whose YAML value is the command's, by design: the root seed, the run's cache folder, and
# what the command fills in from the data (`null`).
THE_COMMANDS = {"seed", "cache_dir", "input_shape", "num_classes"}


def same(yaml_value, python_default):
    if isinstance(python_default, (list, tuple)) or isinstance(yaml_value, list):
        return list(yaml_value) == list(python_default)
    if hasattr(python_default, "value"):  # an enum, given in YAML by its value
        return yaml_value == python_default.value
    if isinstance(python_default, float) and isinstance(yaml_value, (int, float)):
        return math.isclose(yaml_value, python_default, rel_tol=1e-6)
    return yaml_value == python_default


@pytest.mark.parametrize("option", OPTIONS, ids=str)
def test_yaml_options_agree_with_the_python_defaults(option):
    node = OmegaConf.to_container(OmegaConf.load(CONF / option), resolve=False)
    params = inspect.signature(hydra.utils.get_method(node.pop("_target_"))).parameters
    for key, value in node.items():
        if key == "defaults" or isinstance(value, dict) or key in THE_COMMANDS:
            continue
        assert key in params, f"conf/{option}: {key} is not an argument of the builder"
        default = params[key].default
        assert default is inspect.Parameter.empty or same(value, default), \
            f"conf/{option}: {key} is {value!r} in YAML but {default!r} in Python"


def imports():
    """{module: the fedexp modules it imports}, read from the source."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([f"{node.module}.{a.name}" for a in node.names] + [node.module]
                     if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found.add(next((n for n in names if n in modules), None))
        graph[name] = found - {None, name, "fedexp"}
    return graph


def layer(module):
    return next(i for i, prefixes in enumerate(LAYERS) if module.startswith(prefixes))


def test_imports_never_point_up_a_layer():
    upward = [f"{a} -> {b}" for a, deps in imports().items() if a != "fedexp" for b in deps if layer(b) > layer(a)]
    assert upward == []


def test_there_is_no_import_circle():
    graph = imports()
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(module):] + [module]))
        if module not in done:
            path.append(module)
            for dep in sorted(graph[module]):
                visit(dep)
            path.pop()
            done.add(module)

    for module in sorted(graph):
        visit(module)


def builders():
    import fedexp
    exported = {name: getattr(fedexp, name) for name in fedexp.__all__ if name.startswith("build_")}
    options = {str(o): hydra.utils.get_method(OmegaConf.load(CONF / o)._target_) for o in OPTIONS}
    return {**exported, **{k: v for k, v in options.items() if inspect.isfunction(v)}}


@pytest.mark.parametrize("name, builder", sorted(builders().items()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_builder_says_what_it_returns(name, builder):
    assert "Returns" in (builder.__doc__ or ""), f"{name} ({builder.__module__}) has no docstring saying what it returns"
