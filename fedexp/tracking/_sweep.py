"""A Hydra callback that groups a sweep's jobs under one MLflow parent run.

Before any job starts it creates the store, the experiment and the parent run (so that
parallel jobs do not race on a fresh SQLite file), named by the sweep's axes, with the axes
(swept keys and their values) as params and in the `fedexp.swept` tag, from which each job
names its own run; each job's run becomes a child. With `resume=true` it takes the newest
sweep of the same overrides as the parent instead, and each job finds its own child there
(`fedexp.runner.resume`). When the sweep ends the parent gets the best child's final metrics
and id, and a comparison of the children (`fedexp.tracking._compare`) as CSV, Markdown, a
plot and its description; a sweep over `seed` is compared by mean ± std and 95% interval.
"""

import atexit
import json
import sys
import tempfile
from pathlib import Path

import hydra
from hydra.experimental.callback import Callback

from fedexp import targets
from fedexp.errors import ConfigError
from fedexp.tracking import _compare as compare
from fedexp.tracking import _identity as identity
from fedexp.tracking.mlflow import set_sweep_parent


class MlflowSweepCallback(Callback):
    def __init__(self):
        self.tracker = None
        self.parent_run_id = None
        self.axes = {}

    def on_multirun_start(self, config, **kwargs):
        try:
            targets.check(config.tracking, "tracking")
            tracker = hydra.utils.instantiate(config.tracking)
            if not tracker.enabled:
                return
            tracker.check()
        except ConfigError as e:
            print(f"fedexp: error: {e}", file=sys.stderr)
            sys.exit(2)
        overrides = list(config.hydra.overrides.task)
        self.axes = identity.sweep_axes(overrides, config.hydra.sweeper.get("params"))
        sweep = " ".join(overrides)
        run = tracker.last_run_with(sweep, sweep=True) if config.get("resume") is True else None
        if run is None:
            names = identity.short_names(self.axes)
            name = " ".join(["sweep", *(f"{names[k]}={','.join(v)}" for k, v in self.axes.items())])
            launch = [o for o in config.hydra.overrides.hydra if not o.startswith("hydra.mode=")]  # -m says it
            command = identity.command(["-m", *launch, *overrides])
            run = tracker.client.create_run(tracker.experiment_id(), run_name=name[:250], tags={
                **identity.system_tags([]), "mlflow.note.content": f"Rerun the sweep: `cd {Path.cwd()} && {command}`",
                "mlflow.runColor": identity.PARENT_COLOR,
                "fedexp.sweep": "true", "overrides": sweep, "fedexp.swept": json.dumps(list(self.axes))})
            tracker.run_id = run.info.run_id
            tracker.log_params({k: ",".join(v) for k, v in self.axes.items()})
        else:
            tracker.client.update_run(run.info.run_id, status="RUNNING")
            print(f"fedexp: resuming sweep {run.info.run_id}: finished jobs are kept, interrupted ones resumed")
        self.tracker, self.parent_run_id = tracker, run.info.run_id
        tracker.run_id = run.info.run_id
        set_sweep_parent(self.parent_run_id)  # jobs that the launcher runs in this process
        atexit.register(self._finish, "FAILED")  # a job that raised ends the sweep before on_multirun_end

    def on_job_start(self, config, **kwargs):
        """In the job's process, wherever the launcher runs it: Hydra sends this callback along with the job
        (pickled, `__getstate__`), so the parent's id arrives with it."""
        set_sweep_parent(self.parent_run_id)

    def __getstate__(self):  # what a job needs of the sweep: not the store's client
        return {**self.__dict__, "tracker": None}

    def on_multirun_end(self, config, **kwargs):
        failed = self._finish("FINISHED")
        if failed:  # a job that diverged: the others ran, and the command says the sweep did not all succeed
            print(f"fedexp: error: {len(failed)} job(s) of the sweep failed: {', '.join(failed)}", file=sys.stderr)
            sys.exit(1)

    def _finish(self, status) -> list:
        """Records the sweep and closes its parent run; returns the names of the children that failed."""
        if self.parent_run_id is None:
            return []
        parent, self.parent_run_id = self.parent_run_id, None
        set_sweep_parent(None)
        client = self.tracker.client
        children = client.search_runs([self.tracker.experiment_id()],
                                      filter_string=f"tags.`mlflow.parentRunId` = '{parent}'",
                                      order_by=["attributes.start_time ASC"])
        axes = list(self.axes) or ["run_name"]
        table = compare.rows(children, axes)
        if table:
            self.record(client, parent, children, table, axes)
        client.set_tag(parent, "fedexp.jobs", str(len(children)))
        client.set_terminated(parent, status)
        print(f"fedexp: sweep recorded as MLflow run {parent} with {len(children)} child run(s): "
              f"{self.tracker.url(parent)}\nfedexp: to see it: {self.tracker.ui_command()}")
        return [c.info.run_name for c in children if c.info.status == "FAILED"]

    def record(self, client, parent, children, table, axes):
        """The parent's comparison artifacts, description, and the best child's metrics and id."""
        from fedexp.tracking._plots import plot_sweep
        groups = compare.seed_groups(table, axes) if compare.SEED in axes else []
        shown = compare.readable(groups) if groups else table
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "sweep.csv").write_text(compare.to_csv(table))
            (Path(tmp) / "sweep.md").write_text(compare.to_markdown(table))
            if groups:
                (Path(tmp) / "seeds.csv").write_text(compare.to_csv(groups))
                (Path(tmp) / "seeds.md").write_text(compare.to_markdown(shown))
            plot_sweep(*self.curves(client, children, table, groups, axes), Path(tmp) / "sweep.png")
            self.tracker.log_artifacts(tmp, "comparison")
        print(compare.to_markdown(shown))
        note = client.get_run(parent).data.tags.get("mlflow.note.content", "")
        top = compare.best(table)
        if top:
            run = next(c for c in children if c.info.run_id == top["run_id"])
            steps = int(run.data.params.get("num_rounds", 0))
            metrics = dict(run.data.metrics)
            if groups:
                group = max(groups, key=lambda g: g.get("eval_accuracy_mean", -1.0))
                metrics.update({f"seeds/{k}": v for k, v in group.items() if k.startswith(tuple(compare.RESULTS))})
                metrics["seeds/n"] = group["n"]
            self.tracker.log_metrics({k: v for k, v in metrics.items() if v == v}, step=steps)  # (no NaN std of n=1)
            self.tracker.set_tags({"fedexp.best_run_id": top["run_id"], "fedexp.best_run_name": top["run_name"]})
            note += (f"\n\nBest: **{top['run_name']}** (run {top['run_id']}), eval accuracy "
                     f"{top['eval_accuracy']:.4f}")
        client.set_tag(parent, "mlflow.note.content", f"{note}\n\n{compare.to_markdown(shown)}")

    def curves(self, client, children, table, groups, axes):
        """Eval accuracy against round, with bands and colours: one line per child in its run's colour, or per
        seed group its mean with a 95% band."""
        history = {r["run_id"]: [(m.step, m.value) for m in client.get_metric_history(r["run_id"], "eval/accuracy")]
                   for r in table}
        names = identity.short_names(axes)
        if not groups:
            colors = {c.info.run_id: c.data.tags.get("mlflow.runColor") for c in children}
            labels = {r["run_id"]: " ".join(f"{names[k]}={r[k]}" for k in axes) for r in table}
            return ({labels[i]: history[i] for i in labels}, {}, {labels[i]: colors[i] for i in labels})
        lines, bands = {}, {}
        for group in groups:
            label = " ".join(f"{names[k]}={group[k]}" for k in axes if k != compare.SEED) or "all"
            points = compare.band([history[i] for i in group["run_ids"].split()])
            lines[f"{label} (n={group['n']})"] = [(s, m) for s, m, _, _ in points]
            bands[f"{label} (n={group['n']})"] = [(s, lo, hi) for s, _, lo, hi in points]
        return lines, bands, {}
