"""A payment-provider sandbox (think Stripe / PayU / Przelewy24 test mode) run as its own HTTP
process, so billing tests meet a provider that validates, declines, pays in part, stays silent
and sends signed webhooks with retries, instead of a stub that always says yes.

`app.create_app(SandboxSettings())` builds it; `python -m services.paysandbox --port 8090` serves
it; `scenarios` lists the test instruments and what each does. State lives in memory only: a
restart forgets every charge and webhook delivery.
"""
