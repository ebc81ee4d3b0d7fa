"""What the e-mail channel sends for each event (pure: no I/O). `render(event)` gives the mails
an outbox event stands for — none, one, or one per affected customer — and `build_message`
turns one into an RFC 5322 message.

Every mail about a ticket carries `[#<ticket id>]` in its subject (a reply with it is added to
the ticket) and threads under one synthetic root, `<tkt_…@domain>` (`References`). Message-IDs
are derived from the event id, so a mail sent again after a relay retry has the same id and
receivers can recognise the repeat. Everything we send is marked `Auto-Submitted` (RFC 3834:
`auto-replied` for answers to an inbound mail, `auto-generated` otherwise) and asks Exchange not
to answer with out-of-office notes, so no two machines mail each other forever.

Events that mean nothing to the customer (a customer's own reply, an internal note — those are
never emitted — or anything unknown without an `email`) render no mail; the deliverer treats
"nothing to send" as delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Callable

from shared.clock import WARSAW

MAIL_EVENTS = ("ticket.created", "ticket.replied", "ticket.resolved", "outage.declared", "callback.attempt_failed",
               "complaint.extended", "complaint.answered", "mail.auto_reply", "mail.payment_notice")

SIGNATURE = "\n\n-- \nSupport Desk\nReply to this e-mail to add to your request; please keep {ref} in the subject."
SIGNATURE_NO_TICKET = "\n\n-- \nSupport Desk"


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    ticket_id: str | None = None
    in_reply_to: str | None = None  # the Message-ID of the inbound mail this answers
    auto_reply: bool = False


def ref(ticket_id: str) -> str:
    return f"[#{ticket_id}]"


def with_ref(subject: str, ticket_id: str | None) -> str:
    subject = " ".join((subject or "").split()) or "Your support request"
    if ticket_id is None or ref(ticket_id) in subject:
        return subject
    return f"{subject} {ref(ticket_id)}"


def when(iso: str | None) -> str:
    """An instant as the customer reads it: Warsaw local time."""
    if not iso:
        return "-"
    local = datetime.fromisoformat(iso).astimezone(WARSAW)
    return f"{local:%a %d %b %Y, %H:%M} (Warsaw time)"


def duration(minutes: int) -> str:
    days, rest = divmod(int(minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p) or "less than a minute"


def _signed(body: str, ticket_id: str | None) -> str:
    return body.rstrip() + (SIGNATURE.format(ref=ref(ticket_id)) if ticket_id else SIGNATURE_NO_TICKET)


# ---- per event type ---------------------------------------------------------------------------


def _ticket_created(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    tid = d["ticket_id"]
    plan = d.get("plan_name") or d.get("plan_id")
    if d.get("reaction_contractual", True):
        reaction = f"Under your {plan} plan we will respond by {when(d.get('reaction_due_at'))}"
        reaction += " (counted within the plan's support hours)."
    else:
        reaction = f"Under your {plan} plan our estimated response time runs until {when(d.get('reaction_due_at'))}"
        reaction += f", at the latest {when(d['limit_due_at'])}." if d.get("limit_due_at") else "."
    body = [f"Hello,\n\nthank you for contacting us. Your request \"{d.get('subject')}\" has been registered as "
            f"{tid}.\n\n{reaction}"]
    if d.get("out_of_scope"):
        body.append("Please note: this kind of request is outside the scope of your plan. We will still look "
                    "at it and tell you what we can do.")
    return [OutgoingMail(d["contact_email"], with_ref(d.get("subject", ""), tid), _signed("\n\n".join(body), tid), tid)]


def _ticket_replied(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    if d.get("author_kind") != "agent" or not d.get("body"):
        return []  # the customer's own words are not mailed back to it
    tid = d["ticket_id"]
    if d.get("awaiting_customer"):
        body = (f"Hello,\n\nto continue with your request {tid} we need more information from you:\n\n{d['body']}\n\n"
                "Please reply to this e-mail. Until we hear from you the response-time clock is paused; it "
                "resumes as soon as your answer arrives.")
    else:
        body = f"{d['body']}"
    return [OutgoingMail(d["contact_email"], with_ref(f"Re: {d.get('subject', '')}", tid), _signed(body, tid), tid)]


def _ticket_resolved(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    tid = d["ticket_id"]
    body = f"Hello,\n\nyour request {tid} \"{d.get('subject')}\" has been resolved."
    if d.get("note"):
        body += f"\n\n{d['note']}"
    body += (f"\n\nIf the problem is not solved, simply reply to this e-mail within {reopen_days} days and the "
             "request will be reopened.")
    return [OutgoingMail(d["contact_email"], with_ref(f"Resolved: {d.get('subject', '')}", tid), _signed(body, tid),
                         tid)]


_OUTAGE_KIND = {"force_majeure": "force majeure", "security_pause": "a temporary pause for security reasons"}


def _outage_declared(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    """R-T6: every affected customer is told, with the expected duration."""
    mails = []
    kind = _OUTAGE_KIND.get(d.get("kind", ""), "an interruption")
    for customer in d.get("affected", []):
        email, tickets = customer.get("email"), list(customer.get("ticket_ids") or [])
        if not email:
            continue
        body = (f"Hello,\n\nbecause of {kind} our support is interrupted from {when(d.get('starts_at'))} to "
                f"{when(d.get('ends_at'))} (expected duration: {duration(d.get('expected_duration_minutes', 0))})."
                f"\n\n{d.get('description', '')}\n\nResponse times for your open requests "
                f"({', '.join(tickets)}) cannot be kept during this time; we will continue as soon as it is over.")
        subject = "Support interruption notice " + " ".join(ref(t) for t in tickets[:3])
        single = tickets[0] if len(tickets) == 1 else None
        mails.append(OutgoingMail(email, subject.strip(), _signed(body, None), single))
    return mails


def _callback_attempt_failed(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    """R-S2: each failed callback attempt is told by e-mail to the order's address."""
    if not d.get("email"):
        return []
    tid = d.get("ticket_id")
    left = d.get("attempts_left")
    outcome = str(d.get("outcome", "")).replace("_", " ")
    body = (f"Hello,\n\nwe tried to call you back at {d.get('number')} on {when(d.get('attempted_at'))} "
            f"(attempt {d.get('attempt')} of 3) but could not reach you ({outcome}).")
    body += (f"\n\nWe will try again: {left} more attempt(s) are planned." if left else
             "\n\nThis was the last planned attempt. Reply to this e-mail or call us to arrange another time.")
    return [OutgoingMail(d["email"], with_ref("We tried to call you back", tid), _signed(body, tid), tid)]


def _complaint_extended(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    """R-T9: in complex cases the customer is told the expected date of the answer."""
    if not d.get("email"):
        return []
    tid = d.get("ticket_id")
    body = (f"Hello,\n\nyour complaint {d.get('complaint_id')} \"{d.get('subject')}\" needs more time to examine. "
            f"We expect to answer it by {d.get('extended_to')}.\n\nReason: {d.get('reason')}")
    return [OutgoingMail(d["email"], with_ref(f"Your complaint {d.get('complaint_id')}: expected answer date", tid),
                         _signed(body, tid), tid)]


def _complaint_answered(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    if not d.get("email"):
        return []
    tid = d.get("ticket_id")
    body = (f"Hello,\n\nour answer to your complaint {d.get('complaint_id')} \"{d.get('subject')}\":"
            f"\n\n{d.get('answer')}")
    return [OutgoingMail(d["email"], with_ref(f"Answer to your complaint {d.get('complaint_id')}", tid),
                         _signed(body, tid), tid)]


AUTO_REPLY_KINDS = ("unknown_sender", "description_too_short", "ticket_closed", "reopen_window_over",
                    "no_entitlement")


def _auto_reply(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    """Answers to inbound mail that did not become (part of) a ticket (service/mail_in.py)."""
    kind, tid, email = d.get("kind"), d.get("ticket_id"), d["email"]
    texts = {
        "unknown_sender": (
            f"we received your e-mail, but the address {email} is not registered with us for any customer with "
            "a support plan, so no request was opened.\n\nIf your organisation has a support plan, please ask its "
            "administrator to register your address with us, or write from a registered address."),
        "description_too_short": (
            "thank you for your message. To open a support request we need a detailed description of the problem "
            f"(at least {d.get('min_description_chars', 20)} characters).\n\nPlease describe what happened, where "
            "(which service, user or device) and since when, and send it again in reply to this e-mail."),
        "ticket_closed": (
            f"your message was not added to request {tid}, because that request is closed.\n\nTo continue, please "
            f"send a new e-mail without {ref(tid or '')} in the subject and a new request will be opened."),
        "reopen_window_over": (
            f"your message was not added to request {tid}: it was resolved more than {reopen_days} days ago and "
            f"can no longer be reopened.\n\nPlease send a new e-mail without {ref(tid or '')} in the subject and a "
            "new request will be opened."),
        "no_entitlement": (
            "we received your e-mail, but we found no support plan of your organisation that covers this "
            f"product ({d.get('product')}), so no request was opened. Your message has been kept and our team "
            "will contact you."),
    }
    text = texts.get(str(kind))
    if text is None:
        return []
    subject = d.get("subject") or "your e-mail"
    subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    return [OutgoingMail(email, with_ref(subject, tid), _signed(f"Hello,\n\n{text}", tid), tid,
                         in_reply_to=d.get("in_reply_to"), auto_reply=True)]


def _payment_notice(d: dict[str, Any], reopen_days: int) -> list[OutgoingMail]:
    """R-B5 / R-E4: support is suspended for an unpaid fee and the customer is told at the same
    time; R-B6 / R-E5: more than 7 days late, the contract may be terminated."""
    if not d.get("email"):
        return []
    invoices = "\n".join(f"  {i.get('number')}: {i.get('gross_total')} {i.get('currency', 'PLN')}, due {i.get('due_date')}"
                         f", paid {i.get('amount_paid')}" for i in d.get("invoices") or [])
    owed = f"{d.get('amount_due')} {d.get('currency', 'PLN')}"
    if d.get("kind") == "terminable":
        subject = "Payment more than 7 days late: your support contract may be terminated"
        body = (f"Hello,\n\nthe payment of {owed} for your support contract {d.get('contract_id')} is "
                f"{d.get('days_late')} days late (since {d.get('since')}). The contract may now be terminated.")
    else:
        subject = "Payment overdue: support is suspended"
        body = (f"Hello,\n\nwe have not received {owed} for your support contract {d.get('contract_id')} "
                f"(due since {d.get('since')}). Support under this contract is suspended until it is paid; "
                "tickets are still accepted on the free plan.")
    body += f"\n\nOpen invoices:\n{invoices}\n\nOnce the arrears are paid, support resumes at once."
    return [OutgoingMail(d["email"], subject, body + SIGNATURE_NO_TICKET)]


def _generic(event_type: str, d: dict[str, Any]) -> list[OutgoingMail]:
    """An event we have no template for, but which names a recipient: its facts, plainly."""
    if not d.get("email"):
        return []
    tid = d.get("ticket_id")
    lines = [f"{k.replace('_', ' ')}: {v}" for k, v in d.items()
             if k != "email" and isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    body = f"Hello,\n\nan update about your {event_type.split('.')[0]}:\n\n" + "\n".join(lines)
    return [OutgoingMail(d["email"], with_ref(f"Update: {event_type}", tid), _signed(body, tid), tid)]


_RENDERERS: dict[str, Callable[[dict[str, Any], int], list[OutgoingMail]]] = {
    "ticket.created": _ticket_created, "ticket.replied": _ticket_replied, "ticket.resolved": _ticket_resolved,
    "outage.declared": _outage_declared, "callback.attempt_failed": _callback_attempt_failed,
    "complaint.extended": _complaint_extended, "complaint.answered": _complaint_answered,
    "mail.auto_reply": _auto_reply, "mail.payment_notice": _payment_notice,
}


def render(event: dict[str, Any], *, reopen_days: int = 14) -> list[OutgoingMail]:
    """The mails an outbox event (its envelope) stands for; [] when it means no mail."""
    data = dict(event.get("data") or {})
    renderer = _RENDERERS.get(event.get("type", ""))
    if renderer is None:
        return _generic(event.get("type", "event"), data)
    if event["type"].startswith("ticket.") and not data.get("contact_email"):
        return []
    return renderer(data, reopen_days)


# ---- the message itself -----------------------------------------------------------------------


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def build_message(mail: OutgoingMail, *, event_id: str, index: int, occurred_at: datetime, mail_from: str,
                  reply_to: str | None = None) -> EmailMessage:
    domain = domain_of(mail_from)
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = mail.to
    if reply_to and reply_to.lower() != parseaddr(mail_from)[1].lower():
        msg["Reply-To"] = formataddr(("Support", reply_to))
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(occurred_at)
    msg["Message-ID"] = f"<{mail.ticket_id or 'mail'}.{event_id}.{index}@{domain}>"
    references = [f"<{mail.ticket_id}@{domain}>"] if mail.ticket_id else []
    if mail.in_reply_to:
        msg["In-Reply-To"] = mail.in_reply_to
        references.append(mail.in_reply_to)
    if references:
        msg["References"] = " ".join(references)
    msg["Auto-Submitted"] = "auto-replied" if mail.auto_reply else "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(mail.body)
    return msg
