"""Domain errors of the entitlements service, each with a stable code."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Unprocessable, register_validation_code


class ProductNotFound(NotFound, code="product_not_found",
                      message="No such product."):
    pass


class PlanNotFound(NotFound, code="plan_not_found",
                   message="No such plan."):
    pass


class ContractNotFound(NotFound, code="contract_not_found",
                       message="No such contract."):
    pass


class LicenceNotFound(Unprocessable, code="licence_not_found",
                      message=("The licence is not known; a standalone purchase needs a licence the customer holds "
                               "(R-E2).")):
    pass


class LicenceOwnedElsewhere(Conflict, code="licence_owned_by_other_customer",
                            message="This licence is registered to another customer."):
    pass


class LicenceProductMismatch(Unprocessable, code="licence_product_mismatch",
                             message="The plan's product does not cover this licence product."):
    pass


class PlanNotPurchasable(Unprocessable, code="plan_not_purchasable",
                         message="This plan cannot be bought (it is the product's free plan)."):
    pass


class TermNotOffered(Unprocessable, code="term_not_offered",
                     message="This product is not sold for that term."):
    pass


class ContractExists(Conflict, code="contract_exists",
                     message="The licence already has a live contract for this product."):
    pass


class InvalidTransition(Conflict, code="invalid_transition",
                        message="The contract's current status does not allow this."):
    pass


class DowngradeNotAllowed(Conflict, code="downgrade_not_allowed",
                          message="A plan can be upgraded during the term, never downgraded (R-E3)."):
    pass


class UpgradePending(Conflict, code="upgrade_pending",
                     message="An upgrade of this contract is already waiting for payment."):
    pass


class NoPendingUpgrade(Conflict, code="no_pending_upgrade",
                       message="The contract has no upgrade waiting for payment."):
    pass


class UpgradeDateInFuture(Unprocessable):
    code = "upgrade_date_in_future"
    message = ("An upgrade cannot be dated after today: the new plan applies once its supplement is paid (R-B7); "
               "request it on the day it should start.")


class DateOutsideTerm(Unprocessable, code="date_outside_term",
                      message="The date is outside the contract's term."):
    pass


class TerminationNotAllowed(Conflict, code="termination_not_allowed",
                            message="The terms do not allow this termination (R-E5, R-E6)."):
    pass


class ConsentRequired(Unprocessable, code="consent_required",
                      message="A contract is transferred only with the seller's recorded written consent (R-E8)."):
    pass


class LicenceHasOtherContracts(Conflict, code="licence_has_other_contracts",
                               message="The licence has other live contracts; transfer them together."):
    pass


class MetricNotInPlan(Conflict, code="metric_not_in_plan",
                      message="The contract's plan has no quota for this metric."):
    pass


class UsageNotAllowed(Conflict, code="usage_not_allowed",
                      message="Usage can be recorded only on an active contract within its term."):
    pass


class UsageTooLarge(Unprocessable, code="usage_exceeds_record_limit",
                    message="A single record exceeds the plan's limit per record (e.g. 7 hours per visit, R-S6)."):
    pass


class DispositionNotFound(NotFound, code="disposition_not_found",
                          message="The contract has no data-disposition deadline (it has not ended)."):
    pass


class DispositionAlreadyCompleted(Conflict, code="disposition_completed",
                                  message="The data disposition is already completed."):
    pass


class CatalogueInvalid(Unprocessable, code="catalogue_invalid",
                       message="The catalogue data is inconsistent."):
    pass


class PlanNotInProduct(Unprocessable, code="plan_not_in_product",
                       message="The target plan belongs to another product."):
    pass


class UsageEventReused(Conflict, code="usage_event_reused",
                       message="This usage event id was already recorded with different values."):
    pass


class InvalidNip(Unprocessable):
    """Raised by request validation (schemas.py: the NIP checksum), reported as the 422's code."""
    code = register_validation_code("invalid_nip")
    message = "The NIP (Polish tax id) is malformed or its checksum is wrong."


class BuyerIsSeller(Unprocessable, code="buyer_is_seller",
                    message=("The buyer's NIP is the seller's own: a VAT invoice cannot be issued to the seller "
                             "itself.")):
    pass


class ProductUnsellable(Unprocessable, code="product_unsellable",
                        message="This change would leave the product with no plan a customer can buy; it was not "
                                "made."):
    pass
