"""All shared DP machinery: accountant, noisy releases, encoding, secret noise, the claim.

Imports nothing from the model packages (dpgan, autoregressive) or synthesizers.
"""
