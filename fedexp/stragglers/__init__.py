"""Clients that do only part of their local work (`+stragglers=<option>`; see `fedexp.client_work._behavior`)."""
