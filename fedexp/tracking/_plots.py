"""PNG plots for MLflow artifacts (matplotlib's Agg backend: no display needed)."""

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_learning_curve(history, path):
    """Accuracy and loss against round: clients' training (every round) and centralized evaluation."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, name in zip(axes, ("accuracy", "loss")):
        for source, key in (("train (clients)", f"client_work/train/{name}"), ("eval (test set)", f"eval/{name}")):
            points = [(h["round"], h[key]) for h in history if key in h]
            if points:
                ax.plot(*zip(*points), marker="o" if source.startswith("eval") else None, label=source)
        ax.set_xlabel("round")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sweep(curves, bands, colors, path):
    """Eval accuracy against round, one line per job of a sweep (`curves[label] = [(round, accuracy), ...]`,
    in `colors[label]` if given) or per group of seeds, its mean with the 95% confidence band
    (`bands[label] = [(round, low, high), ...]`)."""
    plt = _pyplot()
    many = len(curves) > 8  # a big sweep: 20 colours in two line styles, fainter bands, the legend beside the plot
    fig, ax = plt.subplots(figsize=(7, max(4.5, 0.2 * len(curves))) if many else (7, 4.5))
    palette = plt.get_cmap("tab20").colors
    for i, (label, points) in enumerate(curves.items()):
        if points:
            style = {"color": palette[i % 20], "linestyle": ("-", "--")[i // 20 % 2]} if many else {}
            line, = ax.plot(*zip(*points), marker="o", markersize=4 if many else 6, label=label,
                            **({"color": colors[label]} if colors.get(label) else style))
            if bands.get(label):
                rounds, low, high = zip(*bands[label])
                ax.fill_between(rounds, low, high, color=line.get_color(), alpha=0.07 if many else 0.2)
    ax.set_xlabel("round")
    ax.set_ylabel("eval accuracy" + (" (mean, 95% interval over seeds)" if bands else ""))
    ax.set_ylim(-0.02, 1.02)  # an accuracy (a 95% band over 3 seeds may reach past it)
    ax.grid(alpha=0.3)
    if many:  # the saved image grows to hold it
        ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        ax.legend(fontsize="small")
        fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def plot_label_heatmap(counts, clients, path):
    """Each client's share of each label (`counts[i]` is client `clients[i]`'s examples per label)."""
    plt = _pyplot()
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(min(2 + 0.4 * counts.shape[1], 20), min(2 + 0.2 * len(clients), 14)))
    image = ax.imshow(shares, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xlabel("label")
    ax.set_ylabel("client")
    if len(clients) <= 60:
        ax.set_yticks(range(len(clients)), [str(c) for c in clients], fontsize=6)
    ax.set_title(f"label shares of {len(clients)} clients")
    fig.colorbar(image, ax=ax, label="share of the client's examples")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
