"""The privacy ledger of central DP: a round monitor that composes every round's Gaussian
mechanism with `dp-accounting`, logs the epsilon spent so far and stops the run before a
round that would exceed the budget.

Each round is a Poisson-sampled Gaussian mechanism with sampling rate m / num_clients and
the noise multiplier that round measured (`aggregator/<stage>/noise_multiplier`).
"""

import dp_accounting

from fedexp.errors import InvalidValueError
from fedexp.templates import MonitorReport

# Integer Renyi orders: dp-accounting's fractional ones below 2 fail to converge for some (q, z) and warn.
RDP_ORDERS = list(range(2, 128)) + [256, 512, 1024]
ACCOUNTANTS = {"rdp": lambda: dp_accounting.rdp.RdpAccountant(RDP_ORDERS), "pld": dp_accounting.pld.PLDAccountant}


class PrivacyLedger:
    """Epsilon at `delta` after a sequence of rounds, each a Poisson-sampled Gaussian mechanism;
    a `RoundMonitor` that logs `privacy/epsilon` and stops at `epsilon_budget`."""

    def __init__(self, *, sampling_rate, delta, noise_multiplier, epsilon_budget=None, accountant="rdp",
                 stage="dp_gaussian"):
        self.sampling_rate, self.delta, self.epsilon_budget = sampling_rate, delta, epsilon_budget
        self.accountant = accountant
        self.next_noise_multiplier = noise_multiplier  # what the next round is expected to use
        self.metric = f"aggregator/{stage}/noise_multiplier"  # where each round's z is measured
        self.noise_multipliers = []

    def epsilon(self, noise_multipliers) -> float:
        """Epsilon after rounds with these noise multipliers (runs of equal ones composed at once)."""
        runs = []
        for z in noise_multipliers:
            if runs and runs[-1][0] == z:
                runs[-1][1] += 1
            else:
                runs.append([z, 1])
        accountant = ACCOUNTANTS[self.accountant]()
        for z, count in runs:
            accountant.compose(dp_accounting.PoissonSampledDpEvent(
                self.sampling_rate, dp_accounting.GaussianDpEvent(z)), count)
        return float(accountant.get_epsilon(self.delta))

    def record(self, noise_multiplier) -> float:
        """Adds a round and returns the epsilon spent so far."""
        self.noise_multipliers.append(float(noise_multiplier))
        self.next_noise_multiplier = float(noise_multiplier)
        return self.epsilon(self.noise_multipliers)

    def next_round_exceeds_budget(self) -> bool:
        return (self.epsilon_budget is not None
                and self.epsilon(self.noise_multipliers + [self.next_noise_multiplier]) > self.epsilon_budget)

    def after_round(self, round_num, metrics) -> MonitorReport:
        spent = {"privacy/epsilon": self.record(metrics[self.metric])}
        if self.next_round_exceeds_budget():
            return MonitorReport(spent, f"epsilon budget {self.epsilon_budget} reached after round {round_num}")
        return MonitorReport(spent)

    def get_state(self) -> dict:
        """Every round's noise multiplier so far: a resumed run's epsilon goes on from them."""
        return {"noise_multipliers": list(self.noise_multipliers), "next_noise_multiplier": self.next_noise_multiplier}

    def set_state(self, state):
        self.noise_multipliers = [float(z) for z in state["noise_multipliers"]]
        self.next_noise_multiplier = float(state["next_noise_multiplier"])

    def check_budget(self):
        """Refuses a budget that not even one round fits in."""
        if self.next_round_exceeds_budget():
            raise InvalidValueError("epsilon_budget", f"epsilon_budget: one round already spends epsilon = "
                                    f"{self.epsilon([self.next_noise_multiplier]):.3g} > {self.epsilon_budget}")
