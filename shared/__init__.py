"""Code common to every service: settings, database, unit of work, errors, auth, outbox,
inbox, idempotency, HTTP clients, logging, health and metrics."""
