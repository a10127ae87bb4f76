"""The purchase date in what a customer wrote, counted from an injected `today`.

Each form a customer uses is recognised where it stands (so we know what it is tied
to): ISO 2026-11-02 is always year-month-day; 21.10.2026 and 03/04/2023 are day
first (UK); "20th nov", "Nov 19th", "the 3rd of October"; and relative days
("yesterday", "two weeks ago", "last Tuesday"), which dateparser counts from today.
A date without a year is the most recent such day; a date after today is never a
purchase date. Of several dates, the one tied to buying is the purchase date; when
none is and they differ, the reading is ambiguous and the caller asks.
"""
from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from dateparser.search import search_dates

from actions.parsing.numbers import normalise_numbers
from actions.parsing.reading import Reading
from actions.parsing.references import blank, ticket_refs
from actions.parsing.spec import FactSpec, current_spec

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
_MONTH = (r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?"
_WEEKDAY_FULL = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_TODAY = re.compile(r"(?i)today|this\s+morning|tonight")
_DAY = r"(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s*(?P<year>(?:19|20)\d{2}|'\d{2})(?!\d))"
_FORMS = [
    # ISO first: 2026-11-02 is 2 November, never 11 February.
    re.compile(r"(?<![\d.\-/])(?P<year>(?:19|20)\d{2})[-/.](?P<month>0?[1-9]|1[0-2])[-/.](?P<day>[12]\d|3[01]|0?[1-9])(?![\d.\-/])"),
    re.compile(r"(?<![\d.\-/])(?P<day>\d{1,2})[/.\-](?P<month>\d{1,2})[/.\-](?P<year>(?:19|20)\d{2}|\d{2})(?![\d.\-/])"),
    re.compile(rf"(?i)\b(?:{_WEEKDAY},?\s+)?(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MONTH}{_YEAR}?\b"),
    re.compile(rf"(?i)\b(?:{_WEEKDAY},?\s+)?{_MONTH}\s+(?:the\s+)?{_DAY}\b{_YEAR}?"),
    # "on 21/10": a day and month without a year only after a word that introduces a date.
    re.compile(r"(?i)(?:(?<=\bon )|(?<=\bon the )|(?<=\bof the )|(?<=\border of )|(?<=\bdated )|(?<=\bfrom )|(?<=\bsince )|(?<=\bbought )"
               r"|(?<=\bordered )|(?<=\bpurchased )|(?<=\bpaid )|(?<=\bdelivered )|(?<=\barrived )|(?<=\breturned ))"
               r"(?P<day>\d{1,2})/(?P<month>\d{1,2})(?![\d/])"),
    # "on 18.11": dotted without a year only right after "on" or "dated" ("paid 18.11" is money),
    # and only as a day and a month ("on 10.30" is a time).
    re.compile(r"(?i)(?:(?<=\bon )|(?<=\bon the )|(?<=\bdated ))(?P<day>[12]\d|3[01]|0?[1-9])\.(?P<month>1[0-2]|0?[1-9])(?!\.?\d)"),
]
# "on the 2nd", "it was the 5th": a day of the month, the latest one up to today. Only
# after words that introduce a date, or alone as the whole answer ("the 2nd time" is not).
# After a weekday the ordinal may be left off ("Wednesday 18"), never the weekday read alone.
_DAY_ONLY = re.compile(
    rf"(?i)(?:\b(?:on|was|from|since|it's|its|is)\s+the\s+|\b(?:on|bought|ordered|purchased|paid)\s+(?:on\s+)?(?:the\s+)?"
    rf"|^\s*(?:the\s+)?|(?P<weekday>\b{_WEEKDAY}\.?,?\s+(?:the\s+)?))"
    r"(?P<day>[12]\d|3[01]|0?[1-9])(?(weekday)(?:st|nd|rd|th)?|(?:st|nd|rd|th))\b(?![:.]\d)(?(weekday)(?!\s+of\b))"
    r"(?!\s+(?:time|floor|call|attempt|one|item|person|day|week|month|year|am|pm|hour|min|minute)s?\b)(?=\s*(?:$|[^\s/\d]))"
)
# A month's name left once the full dates are read ("in August"); "may" is too often the verb.
_BARE_MONTH = re.compile(rf"(?i)\b{_MONTH}(?![A-Za-z])")
# A weekday before a plural names a habit, not a day: "Sunday dinners", "Friday nights", "our
# Saturday deliveries" (found in the role-play: a purchase date read from "Sunday dinners").
_HABIT = re.compile(rf"(?i)\b{_WEEKDAY_FULL}\s+(?!(?:this|thus|always|perhaps|towards|afterwards|thanks|cheers|guys|folks)\b)[a-z]{{2,}}[a-rt-z]s\b")
# Relative days dateparser counts from today. "last year" or "two months ago" name no
# day, so they can't decide a 30-day return or a 2-year warranty and are asked again.
_RELATIVE = re.compile(
    r"(?i)\b(?:(?:the\s+)?day\s+before\s+yesterday|yesterday|today|this\s+morning|last\s+night|tonight"
    r"|(?:\d+|a|an)\s+(?:days?|weeks?|fortnights?)\s+(?:ago|back)"
    rf"|a\s+week\s+last\s+{_WEEKDAY}|{_WEEKDAY}\s+before\s+last"
    rf"|(?:last|this\s+past|on|this)\s+{_WEEKDAY}|{_WEEKDAY_FULL})\b"
)
# "the 3rd of last month", "the 20th of this month": a day of a month named by where it
# stands ("3rd" alone would be read as this month's 3rd). "two weeks ago Tuesday", "Tuesday
# two weeks ago": the Tuesday of the week (Monday to Sunday) two weeks back.
_OF_A_MONTH = re.compile(r"(?i)\b(?:the\s+)?(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?\s+of\s+"
                         r"(?P<which>last|this|the\s+(?:previous|last))\s+month\b")
_WEEKS_AGO_WEEKDAY = re.compile(
    rf"(?i)\b(?:(?P<n1>\d+|an?|one|two|three|four)\s+weeks?\s+ago\s+(?:on\s+)?(?:a\s+|the\s+)?(?P<d1>{_WEEKDAY})"
    rf"|(?:on\s+)?(?:the\s+)?(?P<d2>{_WEEKDAY})\s+(?P<n2>\d+|an?|one|two|three|four)\s+weeks?\s+ago)\b")
_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}
# "over a week ago", "about 3 days ago", "a fortnight ago or so": a count of days back said
# roughly, so no day is named and the purchase date is asked for rather than recorded wrong
# (docs/design.md#precise-facts). "like yesterday" or "about last Tuesday" still name the day.
_ROUGHLY_BEFORE = re.compile(r"(?i)\b(?:over|more\s+than|about|around|roughly|nearly|almost|at\s+least|approx(?:imately)?"
                             r"|maybe|probably|under|less\s+than|like|some)\s+$")
_ROUGHLY_AFTER = re.compile(r"(?i)^(?:\s+or\s+so|\s*-?ish|\s+or\s+(?:two|three|more|\d+))\b")
_PURCHASE_CUES = re.compile(
    r"(?i)\b(?:bought|buy|buying|purchased?|purchasing|ordered|ordering|placed|paid|got\s+(?:it|them|this|these|one|my|the|a)"
    r"|order\s+(?:date|was|is|made|of|from)|date\s+of\s+(?:purchase|order)|(?:purchase|order)\s+date)\b"
)
# The day the money was taken may stand in for the purchase date when no purchase is
# dated (a card is charged when the order is placed) ...
_EVENT_CUES = re.compile(r"(?i)\b(?:charged|debited|taken)\b")
# ... a delivery never does: "it came on 3 Nov" is recorded as no purchase date and the
# purchase date is asked for, or a warranty would count from the wrong day (docs/design.md#precise-facts).
# Verbs only: "paid for next day delivery on 3 Nov" is a purchase, and "I came in store on
# 3 Nov" a visit to buy, not a delivery.
_DELIVERY_CUES = re.compile(
    r"(?i)\b(?:arrived|arrive|arriving|delivered|came(?!\s+(?:in|into|to)\s+(?:store|the\s+store|the\s+shop|your|on|and)\b)"
    r"|turned\s+up|due|expected|promised|dispatched|shipped|received|visited|sent\s+(?:it|them|the\s+\w+)\s+to\s+me"
    # ... however it is said: "it reached me", "landed", "showed up", "got here", "was left at the
    # door", "handed to my neighbour", "picked it up", "meant to come", "out for delivery".
    r"|reach(?:ed|es)?|landed|(?:showed|rocked|pitched)\s+up|got\s+here|handed"
    r"|left\s+(?:(?:it|them|the\s+\w+)\s+)?(?:on|at|with|outside|by|behind|in)|picked\s+(?:(?:it|them)\s+)?up"
    r"|(?:meant|supposed)\s+to\s+(?:come|arrive|be)|should\s+have\s+(?:come|arrived|been)|out\s+for\s+delivery)\b"
)
# ... but never what happened after it: a return, a refund, a price drop, a breakdown.
_AFTER_CUES = re.compile(
    # (but "bought it in the sale on the 27th" says when it was bought, not when the price fell)
    # ("I posted it on 2 November", "took it back on the 3rd": found at the read-back, where the
    # posting day replaced the purchase date)
    r"(?i)\b(?:returned|return|sent\s+(?:(?:it|them|the\s+\w+)\s+)?back|posted|sent\s+(?:it|them|the\s+\w+)(?!\s+to\s+me)"
    r"|(?:took|brought|taken|handed)\s+(?:it|them|the\s+\w+)\s+(?:back|in)|dropped\s+(?:it|them|the\s+\w+)\s+off|reduced|dropped"
    r"|(?<!\bin the )(?<!\bin a )(?<!\bin your )(?<!\bin their )sale|refunded|refund"
    r"|cancel(?:l)?ed|collected|collection|broke|broken|stopped|failed|fitted|installed|repaired"
    # sent away to be repaired ("my laptop went for repair 3 weeks ago": found in the role-play,
    # recorded as the purchase date)
    r"|(?:went|gone|sent|taken|booked|in)\s+(?:\w+\s+)?for\s+(?:a\s+|its\s+|the\s+)?repairs?|(?:at|to)\s+the\s+repair\s+(?:centre|center|shop)"
    # a breakdown, in the words customers use for one (verbs: "a faulty kettle I bought" is a purchase)
    r"|died|packed\s+(?:in|up)|(?:went|gone)\s+(?:kaput|dead|wrong)|spoil(?:t|ed|s)?|conked\s+out|gave\s+up|leaked)\b"
)
# ... and contacts with us, whose date never does ("I called yesterday").
_CONTACT_CUES = re.compile(r"(?i)\b(?:called|rang|phoned|e-?mailed|contacted|complained|reported|chased|spoke|wrote|messaged)\b")
# ... nor what someone did to the customer: "on Thursday 3 December he swore at my mother"
# (found in the role-play: recorded as the purchase date, and the incident's day lost).
_INCIDENT_CUES = re.compile(
    r"(?i)\b(?:swore|sworn|shouted|yelled|screamed|hung\s+up|laughed|insulted|mocked|lied|argued|threatened"
    r"|(?:was|were)\s+(?:\w+ly\s+)?(?:rude|abusive|aggressive|dismissive))\b")
_CUES = (("purchase", _PURCHASE_CUES), ("event", _EVENT_CUES), ("delivery", _DELIVERY_CUES), ("after", _AFTER_CUES),
         ("contact", _CONTACT_CUES), ("incident", _INCIDENT_CUES))
# Ties whose date is never the purchase date, even when no purchase is dated.
_NEVER_PURCHASE = ("contact", "after", "delivery", "incident")
# A date belongs to the clause it is in: "bought on X, returned it on Y".
_CLAUSE = re.compile(r"(?i)[.;!?\n,]|\b(?:and|but|then|so|which|while|although|though)\b")


def _settings(today: date) -> Dict[str, Any]:
    return {
        "RELATIVE_BASE": datetime(today.year, today.month, today.day, 12, 0),
        "PREFER_DATES_FROM": "past",
        "DATE_ORDER": "DMY",  # UK customers: 03/04/2023 is 3 April
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }


def _year(raw: Optional[str], month: int, day: int, today: date) -> Optional[int]:
    if raw is None:
        # No year: the most recent such day (today counts).
        year = today.year
        try:
            return year if date(year, month, day) <= today else year - 1
        except ValueError:
            return year - 1  # 29 February
    raw = raw.lstrip("'")
    if len(raw) == 2:
        year = 2000 + int(raw)
        return year if year <= today.year else year - 100
    return int(raw)


def _month(raw: str) -> int:
    return int(raw) if raw.isdigit() else _MONTHS[raw.lower()[:3]]


def _absolute(match: re.Match, today: date) -> Optional[date]:
    day, month = int(match.group("day")), _month(match.group("month"))
    year = _year(match.groupdict().get("year"), month, day, today)
    try:
        return date(year, month, day)
    except ValueError:
        # 11/25/2025 cannot be day first; as month first it is one day only.
        if month > 12 and day <= 12 and match.group("month").isdigit():
            try:
                return date(_year(match.groupdict().get("year"), day, month, today), day, month)
            except ValueError:
                return None
        return None


def _day_of_month(day: int, today: date) -> Optional[date]:
    year, month = today.year, today.month
    for _ in range(3):  # the 31st may be two months back
        try:
            found = date(year, month, day)
        except ValueError:
            found = None
        if found is not None and found <= today:
            return found
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return None


def _modal_may(match: re.Match) -> bool:
    """'I may 2 ...': lower-case 'may' before a bare number is the verb, not the month."""
    month = match.groupdict().get("month") or ""
    return (month == "may" and match.group(0).lstrip().startswith("may")
            and not re.search(r"\d(?:st|nd|rd|th)", match.group(0)) and not match.groupdict().get("year"))


_WEEKDAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _relative(fragment: str, today: date) -> Optional[date]:
    """A relative day counted back from today (plain arithmetic: dateparser reads
    'last Tuesday' but not 'last Saturday')."""
    phrase = re.sub(r"\s+", " ", fragment.lower().strip())
    if "before yesterday" in phrase:
        return today - timedelta(days=2)
    if phrase in ("yesterday", "last night"):
        return today - timedelta(days=1)
    if _TODAY.fullmatch(phrase):
        return today
    ago = re.fullmatch(r"(\d+|an?) (day|week|fortnight)s? (?:ago|back)", phrase)
    if ago:
        count = 1 if ago.group(1) in ("a", "an") else int(ago.group(1))
        return today - timedelta(days=count * {"day": 1, "week": 7, "fortnight": 14}[ago.group(2)])
    earlier = re.fullmatch(rf"a week last ({_WEEKDAY})|({_WEEKDAY}) before last", phrase)
    if earlier:
        # "a week last Friday", "Friday before last": the one a week before last Friday.
        return _relative(earlier.group(1) or earlier.group(2), today) - timedelta(days=7)
    weekday = re.search(_WEEKDAY + r"$", phrase)
    if weekday:
        # "Tuesday", "last Tuesday", "on Tuesday": the latest one before today.
        back = (today.weekday() - _WEEKDAY_INDEX[weekday.group(0)[:3]]) % 7 or 7
        return today - timedelta(days=back)
    return None


def _precise(fragment: str) -> bool:
    """What dateparser's search found names a day ('in January' or '2023' alone does not)."""
    if _RELATIVE.search(fragment):
        return True
    if re.search(_MONTH, fragment, re.IGNORECASE):
        return any(len(d) <= 2 for d in re.findall(r"\d+", fragment))
    return bool(re.search(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}", fragment))


def _placed(match: re.Match, today: date) -> Optional[date]:
    """The day an _OF_A_MONTH or _WEEKS_AGO_WEEKDAY match names."""
    if "which" in match.groupdict():
        year, month = today.year, today.month
        if match.group("which").lower() != "this":
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        try:
            return date(year, month, int(match.group("day")))
        except ValueError:
            return None
    count = match.group("n1") or match.group("n2")
    weeks = int(count) if count.isdigit() else _COUNTS[count.lower()]
    weekday = _WEEKDAY_INDEX[(match.group("d1") or match.group("d2")).lower()[:3]]
    back = today - timedelta(days=7 * weeks)
    return back - timedelta(days=back.weekday() - weekday)


def _found(view: str, today: date) -> List[Tuple[date, Tuple[int, int]]]:
    """Every day named in view, with where it stands."""
    out: List[Tuple[date, Tuple[int, int]]] = []
    placed = []
    for form in (_OF_A_MONTH, _WEEKS_AGO_WEEKDAY):
        for match in form.finditer(view):
            placed.append(match.span())
            day = _placed(match, today)
            if day is not None:  # "the 31st of last month" in a 30-day month names no day
                out.append((day, match.span()))
    view = blank(view, placed)
    for form in _FORMS:
        for match in form.finditer(view):
            if _modal_may(match):
                continue
            day = _absolute(match, today)
            if day is not None:
                out.append((day, match.span()))
        view = blank(view, [s for _, s in out])
    day_only = []
    # "bought it back in August, on the 30th": a month named on its own may be the day's, so
    # the day alone is not read as the latest 30th (a wrong purchase date); it is asked for.
    month_named = any(m.group("month").lower() != "may" for m in _BARE_MONTH.finditer(view))
    for match in [] if month_named else _DAY_ONLY.finditer(view):
        day = _day_of_month(int(match.group("day")), today)
        if day is not None:
            out.append((day, match.span("day")))
            day_only.append(match.span())
    view = blank(view, day_only)  # "Monday 23rd" is the 23rd, not also last Monday
    rough = []
    for match in _RELATIVE.finditer(view):
        counted_back = match.group(0).lower().endswith(("ago", "back"))
        if counted_back and (_ROUGHLY_BEFORE.search(view[:match.start()]) or _ROUGHLY_AFTER.search(view[match.end():])):
            rough.append(match.span())
            continue
        day = _relative(match.group(0), today)
        if day is not None:
            out.append((day, match.span()))
    view = blank(view, rough)  # nor is it read by dateparser below
    if not out and re.search(r"\d|[a-z]{3}", view):
        # Forms none of the above knows: dateparser's search, kept to those that name a day.
        try:
            found = search_dates(view, languages=["en"], settings=_settings(today)) or []
        except (ValueError, OverflowError, RecursionError):
            found = []
        for fragment, moment in found:
            if moment is not None and _precise(fragment) and not re.fullmatch(r"may \d{1,2}", fragment):
                start = view.find(fragment)
                out.append((moment.date(), (start, start + len(fragment))))
    return sorted(out, key=lambda item: item[1])


def _cue(view: str, span: Tuple[int, int], others: List[Tuple[int, int]]) -> Optional[Tuple[str, str]]:
    """(kind, the cue's words) of the event named next to the date in its clause, the one
    before it first ("bought it on X"). kind is a _CUES name: 'purchase', 'event' (charged),
    'delivery', 'after' (returned, reduced, broke ...), 'contact' or 'incident' (swore, hung up). None: no event named."""
    start = max([m.end() for m in _CLAUSE.finditer(view, 0, span[0])] + [e for _, e in others if e <= span[0]] + [0])
    follows = [m.start() for m in _CLAUSE.finditer(view, span[1])] + [s for s, _ in others if s >= span[1]] + [len(view)]
    end = min(follows)
    before, after = view[start:span[0]], view[span[1]:end]
    cues = [(kind, m) for kind, cue in _CUES for m in cue.finditer(before)]
    if cues:
        kind, match = max(cues, key=lambda c: c[1].end())
        return kind, match.group(0)
    cues = [(kind, m) for kind, cue in _CUES for m in cue.finditer(after)]
    if not cues:
        return None
    kind, match = min(cues, key=lambda c: c[1].start())
    return kind, match.group(0)


# Days customers name instead of dating them ("on Black Friday", "Boxing Day last year"): each
# said as its date, the latest one up to today unless a year is named (found in the role-play,
# round 3: "Black Friday (27th Nov)" was read as last Friday, 4 December, a week later).
_NAMED_DAYS = re.compile(
    r"(?i)\b(?P<name>black\s+friday|cyber\s+monday|boxing\s+day|christmas\s+eve|christmas\s+day|new\s+year'?s\s+eve"
    r"|new\s+year'?s\s+day|valentine'?s\s+day)(?:\s+(?:(?P<year>(?:19|20)\d{2})|(?P<which>last\s+year|this\s+year)))?\b")


def _named_day(name: str, year: int) -> date:
    name = re.sub(r"\s+", " ", name.lower().replace("'", ""))
    if name in ("black friday", "cyber monday"):
        november = date(year, 11, 1)
        thanksgiving = november + timedelta(days=(3 - november.weekday()) % 7 + 21)  # the fourth Thursday
        return thanksgiving + timedelta(days=1 if name == "black friday" else 4)
    return {"boxing day": date(year, 12, 26), "christmas eve": date(year, 12, 24), "christmas day": date(year, 12, 25),
            "new years eve": date(year, 12, 31), "new years day": date(year, 1, 1), "valentines day": date(year, 2, 14)}[name]


def _dated_named_days(view: str, today: date) -> str:
    def dated(match: re.Match) -> str:
        if match.group("year"):
            day = _named_day(match.group("name"), int(match.group("year")))
        else:
            year = today.year - (1 if (match.group("which") or "").lower().startswith("last") else 0)
            day = _named_day(match.group("name"), year)
            if day > today and not match.group("which"):
                day = _named_day(match.group("name"), year - 1)
        return f"{day.day} {day:%B %Y}"
    return _NAMED_DAYS.sub(dated, view)


def _view(text: str, spec: FactSpec, today: Optional[date] = None) -> str:
    view = normalise_numbers(text)
    if today is not None:
        view = _dated_named_days(view, today)
    view = blank(view, [s for _, s in ticket_refs(view, spec)])
    view = blank(view, [m.span() for m in spec.order_pattern.finditer(view)])  # order numbers are not dates
    view = blank(view, [m.span() for m in _HABIT.finditer(view)])
    return re.sub(r"[£$€]\s?\d[\d,]*(?:\.\d+)?", lambda m: " " * len(m.group(0)), view)


# A pure function of (text, today), and the slowest parser here: one message is parsed
# by several actions in one turn, and both for its purchase date and for its other days.
@functools.lru_cache(maxsize=2048)
def _dated(text: str, today: date, spec: Optional[FactSpec] = None) -> Tuple[str, Tuple[Tuple[date, Tuple[int, int], Optional[Tuple[str, str]]], ...]]:
    """The view read, and every day in it from 1990 up to today with where it stands and
    the event named next to it (_cue)."""
    if not text or not text.strip():
        return "", ()
    view = _view(text, current_spec(spec), today)
    found = [(day, span) for day, span in _found(view, today) if date(1990, 1, 1) <= day <= today]
    spans = [span for _, span in found]
    return view, tuple((day, span, _cue(view, span, [s for s in spans if s != span])) for day, span in found)


@functools.lru_cache(maxsize=2048)
def read_dates(text: str, today: date, spec: Optional[FactSpec] = None) -> Reading:
    """The purchase date (ISO YYYY-MM-DD): ONE, AMBIGUOUS between the candidates, or NONE."""
    view, found = _dated(text, today, spec)
    if not found:
        return Reading()
    ties = [cue[0] if cue else None for _, _, cue in found]
    bought = [day.isoformat() for (day, _, _), tie in zip(found, ties) if tie == "purchase"]
    if len(set(bought)) == 1:
        return Reading.of([day.isoformat() for day, _, _ in found], chosen=bought[0])
    if bought:
        return Reading.of(bought)
    # No purchase dated: the other days may stand in, but not a delivery, what happened
    # after buying or a contact with us, nor "today" alone ("I want this sorted today").
    said_more = len(re.findall(r"[A-Za-z']+", view)) > 3
    return Reading.of([day.isoformat() for (day, span, _), tie in zip(found, ties)
                       if tie not in _NEVER_PURCHASE and not (tie is None and said_more and _TODAY.fullmatch(view[span[0]:span[1]]))])


# A day written without its year is read as the latest such day; half a year back or more,
# it may as well be one to come, and a wrong day on the ticket is worse than none.
_YEARLESS_BACK = 183
_WRITTEN_YEAR = re.compile(r"\b(?:19|20)\d{2}\b|'\d{2}\b|\d{1,2}[./-]\d{1,2}[./-]\d{2}\b")


def dated_events(text: str, today: date, spec: Optional[FactSpec] = None) -> List[Tuple[str, str]]:
    """The days the message ties to something other than buying, as (ISO date, what happened
    in the customer's words, lower case): [("2026-11-12", "arrived"), ("2026-11-20", "rang")].
    The purchase date is read_dates'; these go beside it on the ticket, so the agent sees
    when it arrived, broke, was returned or when the customer called (docs/design.md#precise-facts)."""
    view, found = _dated(text, today, spec)
    events = []
    for day, span, cue in found:
        if (today - day).days > _YEARLESS_BACK and not _WRITTEN_YEAR.search(view[span[0]:span[1]]):
            continue  # "promised for 30 November" on 22 November is a day to come, not last year's
        if cue is not None and cue[0] != "purchase":
            events.append((day.isoformat(), re.sub(r"\s+", " ", cue[1].lower())))
    return events


def date_spans(view: str) -> List[Tuple[int, int]]:
    """Where dates are written in view (for other parsers to leave them alone)."""
    spans = [m.span() for form in _FORMS for m in form.finditer(view)]
    return spans + [m.span("day") for m in _DAY_ONLY.finditer(view)] + [m.span() for m in _RELATIVE.finditer(view)]


# "bought June 2024", "back in january 2023", "in August": a month named on its own, with its
# year when one follows. "may" only before a year ("may 2025"): alone it is the verb.
_MONTH_YEAR = re.compile(rf"(?i)\b{_MONTH}(?![A-Za-z])(?:{_YEAR}|\s+(?:of\s+)?(?P<which>last|this)\s+year\b)?")


def month_named(text: str, today: date) -> Optional[Tuple[int, Optional[int]]]:
    """(month, year or None) of the one month a message names without its day, or None when
    it names none, more than one, or a full date (which read_dates reads itself)."""
    view = normalise_numbers(text or "")
    if any(form.search(view) for form in _FORMS):
        return None
    named = set()
    for match in _MONTH_YEAR.finditer(view):
        raw_year, which = match.group("year"), match.group("which")
        if match.group("month").lower() == "may" and not (raw_year or which):
            continue
        if which:
            # "in March last year" (found in the role-play: read as this March)
            year = today.year - (1 if which.lower() == "last" else 0)
        else:
            year = _year(raw_year, 1, 1, date.max) if raw_year else None
        named.add((_MONTHS[match.group("month").lower()[:3]], year))
    return named.pop() if len(named) == 1 else None


def month_with_year(text: str, today: date) -> Optional[str]:
    """"2025-03" for a month named with its year and no day ("March 2025 I think", "bought in
    feb 2025"), not one still to come; else None."""
    named = month_named(text, today)
    if named is None or named[1] is None:
        return None
    month = f"{named[1]:04d}-{named[0]:02d}"
    return month if month <= today.isoformat()[:7] else None


def day_in_month(day: int, month: int, year: Optional[int], today: date) -> Optional[str]:
    """ISO date of this day in the month (and year) the customer named before ("bought June
    2024" ... "the 5th"): without a year, the latest such day up to today; None if that day
    does not exist or lies in the future (docs/design.md#precise-facts)."""
    try:
        found = date(year if year is not None else _year(None, month, day, today), month, day)
    except ValueError:
        return None
    return found.isoformat() if found <= today else None


def parse_date(text: str, today: date, spec: Optional[FactSpec] = None) -> Optional[str]:
    """The purchase date in text as ISO YYYY-MM-DD, or None when absent, vague, in the
    future, or one of several (read_dates gives the candidates to ask about)."""
    return read_dates(text, today, spec).value
