"""MovieDreamer core: the model library (no UI, no database, nothing loaded at import)."""
