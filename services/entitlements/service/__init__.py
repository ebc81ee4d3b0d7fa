"""The rules of the entitlements service; no FastAPI in here."""
