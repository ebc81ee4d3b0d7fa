"""Entitlements service: catalogue, licences, contracts, upgrades, quotas, entitlements."""
