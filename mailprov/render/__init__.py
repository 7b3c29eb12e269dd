"""Renderers of a Plan: text for terminals, JSON for machines, Markdown for pull requests."""
