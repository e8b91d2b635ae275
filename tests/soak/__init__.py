"""The soak: a compressed day of a real home against the real stack (`make soak`)."""
