"""Billing service: invoices, KSeF, payments, charge schedule, dunning, usage."""
