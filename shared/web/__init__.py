"""The HTTP edge of the shared layer: exception handlers and request dependencies (FastAPI).

The domain modules of `shared/` (errors, the unit of work, the principal, the atomic create)
never import this package or the web framework; this package imports them."""
