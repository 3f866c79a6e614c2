"""tracking=none: the run is recorded nowhere (the console summary remains)."""

import contextlib


class NoTracker:
    enabled = False
    run_id = None

    def check(self):
        pass

    @contextlib.contextmanager
    def run(self, **_):
        yield self

    def log_params(self, params):
        pass

    def set_tags(self, tags):
        pass

    def log_metrics(self, metrics, step):
        pass

    def log_artifact(self, path, artifact_path=None):
        pass

    def log_artifacts(self, directory, artifact_path=None):
        pass

    def log_text(self, text, artifact_file):
        pass

    def describe(self):
        return "not recorded (tracking=none)"

    def sweep_axes(self):
        return []
