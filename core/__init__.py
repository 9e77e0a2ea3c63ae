"""Plumbing every app uses and that imports no app (DESIGN §3)."""
