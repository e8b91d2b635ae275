"""`make ha-check`: the real Home Assistant core and Prometheus against the real stack."""
