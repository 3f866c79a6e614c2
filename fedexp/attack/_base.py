"""What an attack is: which fraction of the population is malicious, and what those clients do.

    poison(y, malicious, num_classes) -> y         the labels they train on (data poisoning), or None
    craft(update, honest_update, malicious, reported, seed) -> update
                                                   the update they send instead of their honest one, or None

`update` is the cohort's stacked updates (a nest of `[clients, ...]`), `malicious` and `reported`
`[clients]` booleans, `seed` a stateless seed of the round. Both run inside the round's program.
"""

from typing import Callable, NamedTuple, Optional


class Attack(NamedTuple):
    name: str
    fraction: float
    poison: Optional[Callable] = None
    craft: Optional[Callable] = None
