"""HTTP routes of the entitlements service: parse, call the service, return."""
