"""The tickets service's request and response bodies, one module per area: tickets, care (callbacks,
complaints, remote sessions), mail (inbound mail, contacts)."""
