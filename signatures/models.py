"""Tables of the signing flow (filled in by the signing work)."""
