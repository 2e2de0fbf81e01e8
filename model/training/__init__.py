"""Training the bundled leaf model from scratch: photos (data), architecture (network), fitting (fit)."""
