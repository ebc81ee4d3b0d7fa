"""The rules of the tickets service; no FastAPI in here."""
