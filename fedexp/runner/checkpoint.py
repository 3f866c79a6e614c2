"""Checkpoints: everything a later round depends on, written atomically under the run's folder.

    <run folder>/checkpoints/round-000035/
        state.npz      the learning-process state's tensors, in `tf.nest` order (the global
                       model, optimizer slots, client work's and aggregator's state)
        monitors.json  each round monitor's state (the privacy ledger's noise multipliers)
        history.json   every round's metrics so far, and the wall time spent
        config.yaml    the resolved config the rounds ran with
        manifest.json  round, MLflow run id, tracking URI, config hash, each file's sha256: written last

A checkpoint is written as `.round-000035.tmp/` and renamed when its manifest is in, so a crash
while writing leaves the previous ones intact; a folder without a manifest is not a checkpoint.
(No fsync: a killed process loses nothing the kernel holds; after a machine crash a file that did
not reach the disk fails its sha256 and the previous checkpoint is offered.)
No random state is saved: every stream is derived from (seed, stream, round) or kept in the
process state (see DESIGN, "Durable state").
"""

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, NamedTuple, Optional

import numpy as np
import tensorflow as tf

from fedexp.errors import ConfigError

FILES = ("state.npz", "monitors.json", "history.json", "config.yaml")


class CheckpointError(ConfigError):
    """A checkpoint that cannot be used; the message names the file and offers the previous checkpoint."""


class Checkpoint(NamedTuple):
    folder: Path
    round: int
    state: Any  # the learning-process state, shaped as the process's `state_type`
    history: list  # every round's metrics, with "round"
    seconds: float  # wall time of the rounds so far
    stopped: Optional[str]  # why a monitor ended the run at this round (None: it had not)


def config_hash(config_yaml: str) -> str:
    return hashlib.sha256(config_yaml.encode()).hexdigest()


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folders(root) -> list:
    """The checkpoints under `root` (those with a manifest), newest round first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.glob("round-*") if (p / "manifest.json").is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def save(root, *, round_num, state, monitor_states, history, seconds, stopped, run_id, tracking_uri, overrides,
         config_yaml, keep) -> Path:
    """Writes round `round_num`'s checkpoint under `root`, keeps the newest `keep`; returns its folder."""
    root = Path(root)
    final, tmp = root / f"round-{round_num:06d}", root / f".round-{round_num:06d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.savez(tmp / "state.npz", *[np.asarray(leaf) for leaf in tf.nest.flatten(state)])
    (tmp / "monitors.json").write_text(json.dumps(monitor_states))
    (tmp / "history.json").write_text(json.dumps({"seconds": seconds, "stopped": stopped, "rounds": history}))
    (tmp / "config.yaml").write_text(config_yaml)
    manifest = {"round": round_num, "run_id": run_id, "tracking_uri": tracking_uri, "overrides": list(overrides),
                "config_sha256": config_hash(config_yaml), "files": {f: _sha256(tmp / f) for f in FILES}}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if final.exists():  # this round again, after a resume from an earlier checkpoint
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in folders(root)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def read_manifest(folder) -> dict:
    """The checkpoint's manifest, with every file checked against its sha256 and the config's text
    added as `config_yaml`; a problem raises `CheckpointError` naming the file."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        for name in FILES:
            if _sha256(folder / name) != manifest["files"][name]:
                raise ValueError(f"{folder / name} does not match its sha256 in the manifest (changed or cut short)")
        return {**manifest, "config_yaml": (folder / "config.yaml").read_text()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise unusable(folder, e) from None


def load(folder, *, state_type, monitors, manifest=None) -> Checkpoint:
    """Reads the checkpoint in `folder` (its files checked by `read_manifest`, unless its `manifest` was
    read already), checks the state against `state_type` and restores `monitors`."""
    folder = Path(folder)
    manifest = manifest or read_manifest(folder)
    try:
        with np.load(folder / "state.npz") as npz:
            state = restore_state([npz[f"arr_{i}"] for i in range(len(npz.files))], state_type)
        monitor_states = json.loads((folder / "monitors.json").read_text())
        if len(monitor_states) != len(monitors):
            raise ValueError(f"monitors.json holds {len(monitor_states)} monitors' state, the run has {len(monitors)}")
        for monitor, monitor_state in zip(monitors, monitor_states):
            monitor.set_state(monitor_state)
        history = json.loads((folder / "history.json").read_text())
        return Checkpoint(folder, manifest["round"], state, history["rounds"], history["seconds"],
                          history["stopped"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise unusable(folder, e) from None


def restore_state(leaves, state_type):
    """The saved arrays as tensors of the process's state, each checked against its spec."""
    specs = tf.nest.flatten(state_type)
    if len(leaves) != len(specs):
        raise ValueError(f"state.npz holds {len(leaves)} tensors, the process's state has {len(specs)} "
                         "(a different algorithm or model)")
    tensors = []
    for i, (leaf, spec) in enumerate(zip(leaves, specs)):
        if leaf.dtype != spec.dtype.as_numpy_dtype or not spec.shape.is_compatible_with(leaf.shape):
            raise ValueError(f"state.npz tensor {i} is {leaf.dtype}{list(leaf.shape)}, the process's state "
                             f"expects {spec.dtype.name}{spec.shape.as_list()}")
        tensors.append(tf.constant(leaf, spec.dtype))
    return tf.nest.pack_sequence_as(state_type, tensors)


def unusable(folder, problem) -> CheckpointError:
    """The error for a checkpoint that cannot be read, offering the one before it."""
    if isinstance(problem, KeyError):
        problem = f"its files lack the entry {problem} (written by another version of fedexp?)"
    older = [p for p in folders(folder.parent) if p.name < folder.name]
    offer = f"resume from the previous one with resume={older[0]}" if older else "there is no earlier checkpoint"
    return CheckpointError(f"checkpoint {folder} cannot be used: {problem}; {offer}")


class Checkpointer:
    """When and where a run saves: every `every` rounds and after its last round (and, from the loop,
    when it is interrupted or diverges); the newest `keep` stay. `upload(folder)`, if given, copies
    each checkpoint to the tracking store."""

    def __init__(self, root, *, every, keep, run_id, tracking_uri, overrides, config_yaml, upload=None):
        self.root, self.every, self.keep, self.upload = Path(root), every, keep, upload
        self.meta = dict(run_id=run_id, tracking_uri=tracking_uri, overrides=overrides, config_yaml=config_yaml)
        self.saved = None  # (round, folder) of the newest checkpoint this run wrote or resumed from

    def due(self, round_num, last_round) -> bool:
        return round_num == last_round or bool(self.every and round_num % self.every == 0)

    def save(self, round_num, state, monitor_states, history, seconds, stopped=None) -> Path:
        """Writes round `round_num` (its state, its monitors' `get_state()`s, the rounds' metrics and
        wall time so far) unless it is already the newest checkpoint; returns its folder."""
        if self.saved and self.saved[0] == round_num:
            return self.saved[1]
        folder = save(self.root, round_num=round_num, state=state, monitor_states=monitor_states, history=history,
                      seconds=seconds, stopped=stopped, keep=self.keep, **self.meta)
        self.saved = (round_num, folder)
        if self.upload:
            self.upload(folder)
        return folder

    def describe_last(self) -> str:
        return f"round {self.saved[0]} ({self.saved[1]})" if self.saved else "none"
