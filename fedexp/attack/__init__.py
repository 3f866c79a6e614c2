"""Malicious clients (`+attack=<option>`): a fixed fraction of the population, chosen from the seed,
that poisons its data or crafts its update whenever it is sampled (see `fedexp.client_work._behavior`)."""
