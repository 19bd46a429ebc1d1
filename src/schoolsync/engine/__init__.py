"""The engine: plan (pure rules over snapshot + directory) and apply (one transaction)."""
