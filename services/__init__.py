"""The platform's services: entitlements, tickets, billing, and the `supportctl` CLI."""
