"""Fidelity, utility and re-identification risk of a synthetic table against train and holdout."""
