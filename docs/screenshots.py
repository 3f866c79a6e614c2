"""Screenshots of a fedexp sweep in the MLflow UI, for the README (not part of the test suite).

Runs the README's sweep in a fresh folder (or uses `--folder` with a store already in
`outputs/mlflow.db`), starts `mlflow ui` on 127.0.0.1, opens the experiment in headless
Chromium and saves two screenshots into `docs/`: the runs list with the sweep expanded, and
the chart of the children's eval accuracy.

Needs Debian's `chromium` and Playwright (its Python package only; no browser download):

    apt-get install chromium && pip install playwright
    python docs/screenshots.py
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SWEEP = ["-m", "hydra/launcher=joblib", "+algo=fedavg,fedavg_clip", "client_optimizer.learning_rate=0.01,0.05"]
COLUMNS = ["algo", "client_optimizer.learning_rate", "eval/accuracy"]
DOCS = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(uri, port, log):
    """`mlflow ui` as fedexp prints it, on `port`; returns the process once /health answers."""
    started = time.perf_counter()
    server = subprocess.Popen(["mlflow", "ui", "--backend-store-uri", uri, "--workers", "1", "--host", "127.0.0.1",
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
            print(f"mlflow ui answered after {time.perf_counter() - started:.1f} s")
            return server
        except OSError:
            if server.poll() is not None or time.perf_counter() - started > 120:
                raise SystemExit(f"mlflow ui did not start (see {log.name})")
            time.sleep(0.2)


def choose_columns(page, columns):
    page.locator("button").filter(has_text="Columns").first.click()
    for column in columns:
        search = page.get_by_placeholder("Search columns")
        search.fill(column)
        page.wait_for_timeout(300)
        page.get_by_text(column, exact=True).first.click()  # under Parameters or Metrics (tags come after)
    page.keyboard.press("Escape")


def fit_column(page, column):
    """Sizes a column to its content (a double click on ag-grid's resize handle)."""
    page.locator(f'[col-id="{column}"] .ag-header-cell-resize').first.dblclick()


def shoot(url, out, chromium):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1800, "height": 560})
        page.goto(url)
        page.get_by_text("sweep ").first.wait_for(timeout=60000)
        close = page.get_by_role("button", name="Close")
        if close.count():
            close.first.click()  # the assistant panel
        page.get_by_role("button", name="Toggle sidebar").click()
        choose_columns(page, COLUMNS)
        page.get_by_role("row").filter(has_text="sweep ").get_by_role("button").first.click()  # expand the sweep
        page.get_by_text("fedavg_clip lr=0.05").first.wait_for()
        fit_column(page, "attributes.`Run Name`")
        page.mouse.move(0, 0)
        page.wait_for_timeout(1000)
        page.screenshot(path=out / "mlflow-sweep-runs.png")
        page.locator("input[name=runs-view-mode][value=CHART]").locator("xpath=../..").click()
        page.get_by_placeholder("Search metric charts").fill("eval/accuracy")
        page.wait_for_timeout(1500)  # the charts are filtered, then drawn again
        page.get_by_test_id("experiment-view-compare-runs-card-menu").locator("xpath=preceding::button[1]").click()
        page.wait_for_timeout(2000)  # the chart, full size, with its legend
        page.mouse.move(0, 0)
        page.wait_for_timeout(500)
        page.screenshot(path=out / "mlflow-sweep-chart.png")
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a folder whose outputs/mlflow.db holds a sweep (default: run one)")
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="fedexp-screenshots-"))
    uri = f"sqlite:///{(folder / 'outputs' / 'mlflow.db').absolute()}"
    if args.folder is None:
        print(f"running the README's sweep in {folder}: fedexp {' '.join(SWEEP)}")
        subprocess.run([sys.executable, "-m", "fedexp", *SWEEP], cwd=folder, check=True)
    port = free_port()
    with open(folder / "mlflow-ui.log", "w") as log:
        server = start_ui(uri, port, log)
        try:
            shoot(f"http://127.0.0.1:{port}/#/experiments/1/runs?workflowType=machine_learning", args.out, args.chromium)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"saved {args.out / 'mlflow-sweep-runs.png'} and {args.out / 'mlflow-sweep-chart.png'}")


if __name__ == "__main__":
    main()
