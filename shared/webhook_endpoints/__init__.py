"""Webhook endpoints managed through the API (every service): registered endpoints, the
fan-out of committed events into deliveries, the dispatcher that sends them, and the routes.

models.py tables · schemas.py request/response models · policy.py rules without I/O ·
errors.py domain errors · repository.py queries · service.py management rules ·
fanout.py events → deliveries (outbox sink `webhooks`) · dispatcher.py deliveries → HTTP ·
component.py what the runtime holds · api.py the routes · migration.py the tables' migration.
"""
