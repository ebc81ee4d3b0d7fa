"""HTTP routes of the tickets service: parse, call the service, return."""
