"""The tickets service's data access, one module per aggregate: tickets, care (callbacks, complaints,
remote sessions), mail (inbound mail, contacts)."""
