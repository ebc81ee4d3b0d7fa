"""Reading an inbound e-mail (pure: no I/O), with the standard library's `email` package.

- The sender is the first address of `From:` that has an `@`; without one the mail is
  unparseable (kept for an operator, never answered: there is nobody to answer).
- The text is the `text/plain` body, else the `text/html` body with its tags stripped.
- The ticket reference is `[#tkt_…]` in the subject (every mail we send carries it there); a
  client that dropped it still threads by `In-Reply-To`/`References`, which name the ticket in
  the Message-IDs we generate (`<tkt_….evt_….0@domain>`, see mail_templates.py).
- `strip_quoted` cuts the quoted history off a reply, best effort: everything from the first
  attribution line (`On … wrote:`, `Dnia … napisał(a):`, `W dniu … pisze:`), separator
  (`-----Original Message-----`, `-----Wiadomość oryginalna-----`, a line of underscores that
  Outlook puts above `From:`/`Od:`) or Outlook header block (`From:` followed by `Sent:`/`To:`
  lines), then trailing `>`-quoted lines and a `-- ` signature. If nothing would be left the
  whole text is kept: losing a customer's words is worse than keeping a quote.
- `automatic_reason` says why a message must not be answered (RFC 3834): `Auto-Submitted` other
  than `no`, a bounce (empty envelope sender, `MAILER-DAEMON`/`postmaster`, a delivery report),
  or the usual auto-responder markers. Such mail is kept but nothing is sent back, so two
  auto-responders never ping-pong.
"""

from __future__ import annotations

import base64
import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from html import unescape
from html.parser import HTMLParser

TICKET_REF = re.compile(r"\[#(tkt_[0-9a-z]{8,40})\]", re.IGNORECASE)
_THREAD_REF = re.compile(r"<(tkt_[0-9a-z]{8,40})[.@]", re.IGNORECASE)
_BOUNCE_LOCAL_PARTS = {"mailer-daemon", "postmaster"}
_MAX_SUBJECT = 300
_MAX_MESSAGE_ID = 500


class UnparseableMail(ValueError):
    """No usable sender, or content that cannot be decoded."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes

    def base64(self) -> str:
        return base64.b64encode(self.content).decode("ascii")


@dataclass(frozen=True)
class ParsedMail:
    from_address: str  # lower case
    from_name: str
    subject: str
    message_id: str | None
    text: str
    attachments: list[MailAttachment] = field(default_factory=list)
    ticket_refs: list[str] = field(default_factory=list)  # subject first, then thread headers
    auto_submitted: str | None = None  # why this mail must not be answered (None: it may be)
    bulk: bool = False  # a list or bulk mail: processed, but never auto-answered

    @property
    def subject_without_refs(self) -> str:
        return re.sub(r"\s{2,}", " ", TICKET_REF.sub("", self.subject)).strip()


def parse(raw: bytes, *, envelope_from: str | None = None) -> ParsedMail:
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        name, address = _sender(msg)
        subject = _one_line(_header(msg, "Subject"))[:_MAX_SUBJECT]
        message_id = _one_line(_header(msg, "Message-ID"))[:_MAX_MESSAGE_ID] or None
        text = body_text(msg)
        attachments = _attachments(msg)
    except UnparseableMail:
        raise
    except Exception as exc:  # noqa: BLE001 - the email package raises many kinds on broken input
        raise UnparseableMail(f"cannot decode the message: {type(exc).__name__}: {exc}") from None
    refs = [m.lower() for m in TICKET_REF.findall(subject)]
    for header in ("In-Reply-To", "References"):
        refs += [m.lower() for m in _THREAD_REF.findall(_header(msg, header))]
    return ParsedMail(from_address=address, from_name=name, subject=subject, message_id=message_id, text=text,
                      attachments=attachments, ticket_refs=list(dict.fromkeys(refs)),
                      auto_submitted=automatic_reason(msg, address, envelope_from), bulk=_bulk(msg))


def _header(msg: EmailMessage, name: str) -> str:
    value = msg.get(name)
    return "" if value is None else str(value)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _sender(msg: EmailMessage) -> tuple[str, str]:
    header = msg.get("From")
    if header is None:
        raise UnparseableMail("the message has no From header")
    try:
        found = [(a.display_name, a.addr_spec) for a in header.addresses]  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - a malformed header: fall back to the lenient parser
        found = getaddresses([str(header)])
    for name, address in found:
        address = (address or "").strip()
        local, at, domain = address.rpartition("@")
        if at and local and domain and " " not in address:
            return _one_line(name or "")[:200], address.lower()
    raise UnparseableMail(f"no usable sender address in From: {str(header)[:200]!r}")


def automatic_reason(msg: EmailMessage, from_address: str, envelope_from: str | None) -> str | None:
    """Why this message must not be answered, or None (RFC 3834, and the common bounce signs)."""
    auto = _header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"auto_submitted:{auto}"[:40]
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "bounce:null_sender"
    if from_address.partition("@")[0] in _BOUNCE_LOCAL_PARTS:
        return "bounce:mailer_daemon"
    if msg.get_content_type() == "multipart/report":
        return "bounce:delivery_report"
    if msg.get("X-Autoreply") is not None or msg.get("X-Autorespond") is not None:
        return "auto_submitted:x_autoreply"
    if _header(msg, "Precedence").strip().lower() == "auto_reply":
        return "auto_submitted:precedence"
    return None


def _bulk(msg: EmailMessage) -> bool:
    return (_header(msg, "Precedence").strip().lower() in ("bulk", "junk", "list")
            or msg.get("List-Id") is not None)


# ---- body -----------------------------------------------------------------------------------


def body_text(msg: EmailMessage) -> str:
    """The text/plain body, else the text/html body as text, else ""."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decoded_text(part)  # type: ignore[arg-type]
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return normalise(text)


def _decoded_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError):  # an unknown or lying charset: decode leniently below
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise UnparseableMail("the text body cannot be decoded")
    return payload.decode("utf-8", errors="replace")


def normalise(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _HtmlText(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table",
              "ul", "ol", "hr"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.out.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - hopeless markup: drop the tags crudely
        return unescape(re.sub(r"<[^>]*>", " ", html))
    text = "".join(parser.out)
    return "\n".join(line.strip() for line in text.split("\n"))


# ---- quoted history --------------------------------------------------------------------------

_HISTORY_MARKERS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*(Dnia|W dniu)\b.{0,300}\b(napisał|napisała|napisał\(a\)|pisze):\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Wiadomość oryginalna|Oryginalna wiadomość)\s*-{2,}\s*$",
               re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
]
_OUTLOOK_HEADER = re.compile(r"^\s*\*?(From|Od):\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|To|Subject|Wysłano|Data|Do|Temat):\*?\s", re.IGNORECASE)


def strip_quoted(text: str) -> str:
    """The new part of a reply (see the module's docstring); the whole text when nothing is left."""
    lines = text.split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        two = line + " " + lines[index + 1] if index + 1 < len(lines) else line  # "On …\nwrote:" wraps
        if any(p.match(line) for p in _HISTORY_MARKERS) or _HISTORY_MARKERS[0].match(two) or (
                _OUTLOOK_HEADER.match(line) and index + 1 < len(lines) and _OUTLOOK_NEXT.match(lines[index + 1])):
            cut = index
            break
    kept = lines[:cut]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    for index, line in enumerate(kept):
        if line in ("-- ", "--"):  # the signature delimiter
            kept = kept[:index]
            break
    result = normalise("\n".join(kept))
    return result or normalise(text)


# ---- attachments -----------------------------------------------------------------------------

_UNSAFE_FILENAME = re.compile(r"[/\\\x00-\x1f]")


def _attachments(msg: EmailMessage) -> list[MailAttachment]:
    found = []
    for part in msg.iter_attachments():
        if part.get_content_disposition() != "attachment":
            continue  # inline images of a signature and the like
        if part.get_content_maintype() == "message":  # a forwarded message: its bytes, as an .eml
            inner = part.get_payload()
            content = inner[0].as_bytes() if isinstance(inner, list) and inner else part.as_bytes()
        else:
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
        filename = _UNSAFE_FILENAME.sub("_", part.get_filename() or "attachment").strip() or "attachment"
        found.append(MailAttachment(filename=filename[:255], content_type=part.get_content_type()[:100],
                                    content=content))
    return found
