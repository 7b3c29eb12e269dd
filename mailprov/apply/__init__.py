"""Applying a plan to a database: one transaction, under a lock, after a re-check."""
