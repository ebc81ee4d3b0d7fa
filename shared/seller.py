"""The platform's own tax id as the demo ships it, until an operator names the real seller.

Billing prints the seller's NIP on every invoice (`BILLING_SELLER_NIP`, R-B10); entitlements
refuses a purchase whose buyer is the seller itself (`ENTITLEMENTS_SELLER_NIP`): a VAT invoice
to oneself is not a sale. Both settings name the same company and default to this value.
"""

DEMO_SELLER_NIP = "5260250274"
