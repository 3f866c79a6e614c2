"""A sweep's children side by side: one row per child (the values it swept and its final results),
the best child, and, when the sweep varies `seed`, each combination of the other swept values over
its seeds: n, mean, standard deviation and a 95% confidence interval (Student's t) of every result.
"""

import csv
import io
import math
import statistics

from fedexp.tracking._identity import job_values

RESULTS = {"eval_accuracy": ("eval/accuracy", "eval_federated/accuracy"),
           "eval_loss": ("eval/loss", "eval_federated/loss"),
           "train_accuracy": ("client_work/train/accuracy",)}
SEED = "seed"


def final(metrics, names):
    return next((metrics[n] for n in names if n in metrics), None)


def rows(children, axes) -> list:
    """One row per child run: its value of every axis, its final results, rounds, wall time, status, id."""
    table = []
    for run in children:
        values = job_values(run.data.tags.get("overrides", "").split())
        metrics = run.data.metrics
        table.append({**{k: values.get(k, run.data.params.get(k, "")) for k in axes},
                      **{name: final(metrics, keys) for name, keys in RESULTS.items()},
                      "rounds": run.data.params.get("num_rounds"), "wall_time_s": metrics.get("time/total_seconds"),
                      "status": run.info.status, "run_name": run.info.run_name, "run_id": run.info.run_id})
    return table


def best(table):
    """The finished row with the highest eval accuracy (None if no row has one)."""
    scored = [r for r in table if r["eval_accuracy"] is not None and r["status"] == "FINISHED"]
    return max(scored, key=lambda r: r["eval_accuracy"], default=None)


def t_quantile(p, df) -> float:
    from scipy.stats import t
    return float(t.ppf(p, df))


def mean_ci(values) -> dict:
    """n, mean, sample standard deviation and the 95% confidence interval of the mean (Student's t with
    n - 1 degrees of freedom); std and the interval are NaN for one value."""
    n = len(values)
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if n > 1 else math.nan
    half = t_quantile(0.975, n - 1) * std / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}


def seed_groups(table, axes) -> list:
    """Rows grouped by every axis but `seed`, finished runs only: the group's values, n, and for every
    result its mean, std and 95% interval; its run ids."""
    others = [k for k in axes if k != SEED]
    groups = {}
    for row in table:
        if row["status"] == "FINISHED":
            groups.setdefault(tuple(row[k] for k in others), []).append(row)
    out = []
    for key, members in groups.items():
        group = dict(zip(others, key))
        group["n"] = len(members)
        for name in RESULTS:
            values = [m[name] for m in members if m[name] is not None]
            if values:
                stats = mean_ci(values)
                group.update({f"{name}_{k}": v for k, v in stats.items() if k != "n"})
        group["run_ids"] = " ".join(m["run_id"] for m in members)
        out.append(group)
    return out


def band(curves) -> list:
    """[(round, mean, low, high)] of several runs' curves ([(round, value)] each) at the rounds all have."""
    curves = [dict(c) for c in curves]
    common = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
    points = []
    for step in common:
        stats = mean_ci([c[step] for c in curves])
        points.append((step, stats["mean"], stats["ci95_low"], stats["ci95_high"]))
    return points


def _cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return "" if value is None else str(value)


def to_csv(table) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table[0]))
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in table)
    return out.getvalue()


def to_markdown(table) -> str:
    header = list(table[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(row[k]) for k in header) + " |" for row in table]
    return "\n".join(lines) + "\n"


def readable(groups) -> list:
    """Seed groups for reading: `mean ± std` and `[low, high]` per result."""
    out = []
    for group in groups:
        row = {k: v for k, v in group.items() if k != "run_ids" and not k.startswith(tuple(RESULTS))}
        for name in RESULTS:
            if f"{name}_mean" in group:
                row[name] = f"{group[f'{name}_mean']:.4f} ± {_cell(group[f'{name}_std']) or '–'}"
                row[f"{name} 95% CI"] = f"[{_cell(group[f'{name}_ci95_low'])}, {_cell(group[f'{name}_ci95_high'])}]"
        out.append(row)
    return out
