"""Domain errors of the tickets service, each with a stable code."""

from __future__ import annotations

from shared.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    message = "No such ticket."


class NoEntitlement(Forbidden):
    code = "no_entitlement"
    message = "The customer has no support for this product."


class UnknownProduct(Unprocessable):
    code = "unknown_product"
    message = "No such support product."


class DescriptionTooShort(Unprocessable):
    code = "description_too_short"
    message = "A ticket needs a detailed description (R-T1)."


class InvalidTicketTransition(Conflict):
    code = "invalid_transition"
    message = "The ticket's current status does not allow this."


class TicketClosed(Conflict):
    code = "ticket_closed"
    message = "The ticket is closed; open a new one."


class ReopenWindowOver(Conflict):
    code = "reopen_window_over"
    message = "A resolved ticket can be reopened only within 14 days."


class AttachmentTooLarge(Unprocessable):
    code = "attachment_too_large"
    message = "An attachment exceeds the size limit."


class EntitlementsUnavailable(DomainError):
    status = 503
    code = "entitlements_unavailable"
    message = "The entitlements service did not answer; retry shortly."
