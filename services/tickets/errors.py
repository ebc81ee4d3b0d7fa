"""Domain errors of the tickets service, each with a stable code."""

from __future__ import annotations

from shared.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable


class TicketNotFound(NotFound, code="ticket_not_found",
                     message="No such ticket."):
    pass


class NoEntitlement(Forbidden, code="no_entitlement",
                    message="The customer has no support for this product."):
    pass


class UnknownProduct(Unprocessable, code="unknown_product",
                     message="No such support product."):
    pass


class DescriptionTooShort(Unprocessable, code="description_too_short",
                          message="A ticket needs a detailed description (R-T1)."):
    pass


class InvalidTicketTransition(Conflict, code="invalid_transition",
                              message="The ticket's current status does not allow this."):
    pass


class TicketClosed(Conflict, code="ticket_closed",
                   message="The ticket is closed; open a new one."):
    pass


class ReopenWindowOver(Conflict, code="reopen_window_over",
                       message="A resolved ticket can be reopened only within 14 days."):
    pass


class AttachmentTooLarge(Unprocessable, code="attachment_too_large",
                         message="An attachment exceeds the size limit."):
    pass


class EntitlementsUnavailable(DomainError, status=503, code="entitlements_unavailable",
                              message="The entitlements service did not answer; retry shortly."):
    pass


# ---- callbacks, remote-help sessions, complaints (R-S2, R-S4, R-S5, R-T9) ---------------------

class CallbackNotInPlan(Forbidden, code="callback_not_in_plan",
                        message="The customer's plan does not include callbacks (R-S2)."):
    pass


class CallbackNotFound(NotFound, code="callback_not_found",
                       message="No such callback request."):
    pass


class CallbackAttemptsExhausted(Conflict, code="callback_attempts_exhausted",
                                message="All three callback attempts have been made (R-S2)."):
    pass


class CallbackCompleted(Conflict, code="callback_completed",
                        message="The customer was reached; no further attempts are made."):
    pass


class RemoteHelpNotInPlan(Conflict, code="remote_help_not_in_plan",
                          message="The ticket's plan does not include remote help (R-S4)."):
    pass


class RemoteSessionNotFound(NotFound, code="remote_session_not_found",
                            message="No such remote-help session."):
    pass


class RemoteSessionExists(Conflict, code="remote_session_exists",
                          message="A remote-help session starting at that instant is already recorded on this ticket."):
    pass


class UsageRefused(Conflict, code="usage_refused",
                   message="Entitlements refused to record the usage (e.g. the contract is not active)."):
    pass

    def __init__(self, detail: str | None = None, *, upstream: str | None = None) -> None:
        super().__init__(detail)
        self.upstream = upstream  # the entitlements error code


class InstantInFuture(Unprocessable, code="instant_in_future",
                      message="The instant lies in the future."):
    pass


class ComplaintNotFound(NotFound, code="complaint_not_found",
                        message="No such complaint."):
    pass


class ComplaintWindowClosed(Unprocessable, code="complaint_window_closed",
                            message=("A complaint about a remote-help session is accepted only until the end of that "
                                     "business day (R-S5).")):
    pass


class ComplaintAlreadyExtended(Conflict, code="complaint_already_extended",
                               message="A complaint's answer date can be extended once only (R-T9)."):
    pass


class ComplaintAlreadyAnswered(Conflict, code="complaint_already_answered",
                               message="The complaint has been answered."):
    pass


class ExtensionTooLate(Conflict, code="extension_too_late",
                       message="The 30-day answer period is over; the expected date had to be named within it (R-T9)."):
    pass


class ExtensionTooLong(Unprocessable, code="extension_too_long",
                       message="The expected answer date may be at most 60 days from receipt (R-T9)."):
    pass


class ExtensionNotLater(Unprocessable, code="extension_not_later",
                        message="The expected answer date must be after the 30-day due date."):
    pass


# ---- e-mail channel (R-T1) --------------------------------------------------------------------

class ContactNotFound(NotFound, code="contact_not_found",
                      message="No such contact in the e-mail directory."):
    pass


class InboundMailNotFound(NotFound, code="inbound_mail_not_found",
                          message="No such inbound mail."):
    pass


class InboundMailNotPending(Conflict, code="inbound_mail_not_pending",
                            message="Only an unprocessed inbound mail can be dismissed."):
    pass
