"""Order numbers, ticket references, phone numbers and the customer's other references
(a repair job, an invoice, a parcel's tracking): the identifiers in a message.

Their forms come from the catalog (FactSpec); this module only knows how customers
type and say them: "ord-0091827", "order no 6620194", "5 5 1 2 0 9 3" on the phone,
"C 2026 1201 0015" for a reference.
"""
from __future__ import annotations

import functools
import re
from typing import List, Optional, Tuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from actions.parsing.numbers import normalise_numbers
from actions.parsing.reading import Reading
from actions.parsing.spec import FactSpec, current_spec
from bot.tickets.ids import TicketIdFormat

Span = Tuple[int, int]


@functools.lru_cache(maxsize=16)
def ticket_pattern(ids: TicketIdFormat) -> re.Pattern:
    """A reference of this format however a customer spaces or hyphenates it:
    'C-20261201-0015', 'c20261201 0015', 'C 2026 1201 0015'. The counter has at least the
    format's digits (the per-day counter grows past them on a busy day)."""
    letters = re.escape(ids.prefix.rstrip("-"))
    return re.compile(
        rf"(?i)(?<![A-Za-z0-9]){letters}[\s\-]*"
        r"((?:19|20)\d{2})[\s\-]?(0[1-9]|1[0-2])[\s\-]?(0[1-9]|[12]\d|3[01])[\s\-]*"
        rf"(\d{{{ids.counter_digits},}})(?!\d)"
    )


def ticket_refs(text: str, spec: FactSpec) -> List[Tuple[str, Span]]:
    """Each reference in text, in its stored form (bot/tickets/ids.py), with where it is."""
    ids = spec.ticket_ids
    return [(ids.compose(m.group(1) + m.group(2) + m.group(3), int(m.group(4))), m.span())
            for m in ticket_pattern(ids).finditer(text or "")]


def parse_ticket_ref(text: str, spec: Optional[FactSpec] = None) -> Optional[str]:
    """The ticket reference in text in its stored form ('C-20261201-0015'), or None.
    The one parser for references: the IVR, the chat and the ticket actions use it."""
    spec = current_spec(spec)
    found = ticket_refs(text, spec) or ticket_refs(normalise_numbers(text or ""), spec)
    return found[0][0] if found else None


def blank(text: str, spans) -> str:
    """text with the spans replaced by spaces (positions kept)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def phone_spans(text: str, region: str) -> List[Span]:
    """Where the phone numbers are, so that none is read as an order number or amount."""
    spans = []
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        if _dialable(match.number):
            spans.append((match.start, match.end))
    return spans


def _dialable(number) -> bool:
    # Ofcom's fictional 07700 900xxx range (used in docs and tests) is possible but not
    # "valid"; a full-length possible number is a number a specialist can dial.
    return phonenumbers.is_valid_number(number) or (
        phonenumbers.is_possible_number(number) and len(str(number.national_number)) >= 10
    )


_EMAIL_CANDIDATE = re.compile(r"[^\s<>(),;:\"']+@[^\s<>(),;:\"']+")


def parse_email(text: str) -> Optional[str]:
    """The first valid e-mail address in text, normalised by email-validator (syntax only:
    no DNS look-up, the machines here have no network and a typo'd domain is still asked
    about by the agent)."""
    for candidate in _EMAIL_CANDIDATE.findall(text or ""):
        try:
            return validate_email(candidate.rstrip("."), check_deliverability=False).normalized
        except EmailNotValidError:
            continue
    return None


def parse_phone(text: str, region: str) -> Optional[str]:
    """The first valid phone number in text, as E.164."""
    if not text:
        return None
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        if _dialable(match.number):
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


# "order number 551 2093", "order 1234-509-876": a number read out or typed in groups
# after the word order (one kind of separator throughout).
_GROUPED_AFTER_ORDER = re.compile(
    r"(?i)(\b(?:ord(?:er)?|ordr|oder)\b[^\d\n]{0,24}?)(\d{1,5}(?:(?: \d{1,5}){1,4}|(?:-\d{1,5}){1,4}))(?![\d\-/]|[.,]\d)")
# "order on 12-11-2026", "order from 3 11 26" or "order date 2023-03-03" is a date, not an
# order number in groups.
_DATE_GROUPS = re.compile(r"(\d{1,2})[ \-](\d{1,2})[ \-](?:\d{2}|\d{4})|(?:19|20)\d{2}[ \-](\d{1,2})[ \-](\d{1,2})")
# "£1234567" or "1234567.00" is a price, whatever its length.
_PRICE = re.compile(r"(?i)(?:[£$€]|\b(?:gbp|usd|eur))\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*\.\d{2}\b|\b\d[\d,]*\s?(?:pounds?|quid|dollars?|euros?)\b")
# Digits in groups, one kind of separator throughout ("4471 2093", "551-209-3"), alone.
_GROUPS = re.compile(r"(?<![\w£$€.,:/\-])(\d{2,5}(?:(?: \d{2,5}){1,4}|(?:-\d{2,5}){1,4}))(?![\w.,:/\-]|[.,]\d)")
# A digit run glued to letters is a model or part number (WH-1000XM5, HX-1234567).
_GLUED = re.compile(r"[A-Za-z][\-/]?$")
_GLUED_AFTER = re.compile(r"^[\-/]?[A-Za-z]")


def _join_groups(match: re.Match, spec: FactSpec) -> str:
    if _looks_like_date(match.group(2)):
        return match.group(0)
    digits = re.sub(r"[ \-]", "", match.group(2))
    lo, hi = _order_length(spec)
    return match.group(1) + digits if lo <= len(digits) <= hi else match.group(0)


def _looks_like_date(groups: str) -> bool:
    found = _DATE_GROUPS.fullmatch(groups)
    if not found:
        return False
    first, second = (int(g) for g in (found.groups()[:2] if found.group(1) else found.groups()[2:]))
    return (1 <= first <= 31 and 1 <= second <= 12) or (1 <= first <= 12 and 1 <= second <= 31)


def _order_length(spec: FactSpec) -> Tuple[int, int]:
    found = re.search(r"\\d\{(\d+),(\d+)\}", spec.order_bare.pattern)
    return (int(found.group(1)), int(found.group(2))) if found else (6, 10)


@functools.lru_cache(maxsize=2048)
def identifier_view(text: str, spec: FactSpec) -> Tuple[str, Tuple[Span, ...]]:
    """The message as the order parser reads it: numbers as digits, references and
    phone numbers blanked out. Returns it with the blanked spans."""
    view = normalise_numbers(text)
    view = _GROUPED_AFTER_ORDER.sub(lambda m: _join_groups(m, spec), view)
    spans = [s for _, s in ticket_refs(view, spec)]
    view = blank(view, spans)
    # A number the customer introduced as their order's is the order number, even when it
    # could be dialled ("order number 1234509876" is also a Bedford landline, 01234 509876).
    ordered = [m.span(1) for m in spec.order_pattern.finditer(view)]
    phones = [p for p in phone_spans(view, spec.phone_region)
              if not any(p[0] < end and start < p[1] for start, end in ordered)]
    return blank(view, phones), tuple(spans + phones)


def read_order_ids(text: str, spec: Optional[FactSpec] = None, answering: bool = False) -> Reading:
    """Order numbers in text, in stored form (prefix + digits as typed). A number needs
    the word order (or the order prefix) next to it, unless `answering`: the message
    answers our question for the order number, so a lone run of digits counts."""
    spec = current_spec(spec)
    if not text:
        return Reading()
    view, _ = identifier_view(text, spec)
    view = blank(view, [m.span() for m in _PRICE.finditer(view)])
    found = [f"{spec.order_prefix}{m.group(1)}" for m in spec.order_pattern.finditer(view)]
    if not found and answering:
        found = [f"{spec.order_prefix}{m.group(1)}" for m in spec.order_bare.finditer(view)
                 if not _GLUED.search(view[:m.start(1)]) and not _GLUED_AFTER.search(view[m.end(1):])]
    if not found and answering:
        # "its 4471 2093" right after we asked: the number as printed in groups (found in the
        # role-play: "Sorry, I couldn't find an order number in that" to an order number).
        lo, hi = _order_length(spec)
        found = [f"{spec.order_prefix}{digits}" for m in _GROUPS.finditer(view)
                 for digits in [re.sub(r"[ \-]", "", m.group(1))]
                 if lo <= len(digits) <= hi and not _looks_like_date(m.group(1))]
    return Reading.of(found)


def order_spans(text: str, spec: FactSpec) -> List[Span]:
    """Where order numbers are in normalise_numbers(text)-aligned text (for blanking)."""
    return [m.span() for m in spec.order_pattern.finditer(text)]


def parse_order_id(text: str, pattern: re.Pattern, prefix: str, bare: Optional[re.Pattern] = None) -> Optional[str]:
    """'ord 4400918', 'order number 77120934', 'ORD-00918273' -> 'ORD-...' (digits kept as typed).
    With `bare`, a lone run of digits counts too: used only when we just asked for the number.
    None when absent or when two different numbers are given (read_order_ids says which)."""
    base = current_spec()
    spec = FactSpec(**{**base.__dict__, "order_pattern": pattern, "order_prefix": prefix, "order_bare": bare or base.order_bare})
    return read_order_ids(text, spec, answering=bare is not None).value


# What a customer's other references are called, as the ticket names them.
_REFERENCE_KINDS = {"repair": "repair", "job": "repair", "invoice": "invoice", "inv": "invoice", "receipt": "invoice",
                    "tracking": "tracking", "track": "tracking", "parcel": "tracking", "consignment": "tracking",
                    "return": "return", "returns": "return", "rma": "return", "collection": "collection",
                    "case": "case", "claim": "claim", "refund": "refund"}
_LABELLED_REFERENCE = re.compile(
    r"(?i)\b(?P<what>repair|job|invoice|inv|receipt|tracking|track|parcel|consignment|returns?|rma|collection|case|claim|refund)"
    r"(?:\s*(?:ref(?:erence)?|no\.?|number|num|#|id|code))*(?:\s+(?:is|was))?\s*[:#.]?\s*"
    r"(?P<value>(?=[A-Z0-9\-/]*\d)[A-Z]{0,4}[-/]?\d[A-Z0-9\-/]{2,24}[A-Z0-9])\b")
# Forms that name themselves: a Royal Mail tracking number (two letters, nine digits, GB), "INV-...".
_SELF_NAMED = ((re.compile(r"\b[A-Z]{2}\d{9}GB\b"), "tracking"), (re.compile(r"(?i)\bINV[-/]?\d[\d\-/]{3,20}\d\b"), "invoice"))


def other_references(text: str, spec: Optional[FactSpec] = None) -> List[Tuple[str, str]]:
    """(what, value) of each reference the customer gives besides the order number and our
    ticket references: "repair ref R-55821" -> ("repair", "R-55821"), "KN123456789GB" ->
    ("tracking", ...), "INV-20261130-118" -> ("invoice", ...). A key fact for the colleague
    (docs/design.md#precise-facts); never an amount, a date or a phone number (a digit and
    at least four characters, and not one of the other identifiers)."""
    spec = current_spec(spec)
    taken = [span for _, span in ticket_refs(text, spec)] + order_spans(text, spec)
    found: List[Tuple[str, str]] = []

    def add(what: str, value: str, span: Span) -> None:
        if any(start < span[1] and span[0] < end for start, end in taken):
            return
        if re.fullmatch(r"\d{1,2}[/\-]\d{1,2}(?:[/\-]\d{2,4})?", value) or re.fullmatch(r"\d{1,3}(?:\.\d+)?", value):
            return  # a date or a sum, not a reference
        if value.upper() not in {v.upper() for _, v in found}:
            found.append((what, value.upper() if re.search(r"[a-z]", value) and not re.search(r"[A-Z]", value) else value))
            taken.append(span)

    for match in _LABELLED_REFERENCE.finditer(text or ""):
        add(_REFERENCE_KINDS[match.group("what").lower()], match.group("value"), match.span("value"))
    for pattern, what in _SELF_NAMED:
        for match in pattern.finditer(text or ""):
            add(what, match.group(0), match.span())
    return found
