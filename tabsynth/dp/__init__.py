"""What every DP model shares: secret noise, mechanisms (accounting lives in dpgan for now)."""
