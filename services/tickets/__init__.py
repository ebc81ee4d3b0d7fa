"""Tickets service: tickets, SLA clocks, callbacks, remote help, complaints, e-mail."""
