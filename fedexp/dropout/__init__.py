"""Clients that fail to report (`+dropout=<option>`; see `fedexp.client_work._behavior`)."""
