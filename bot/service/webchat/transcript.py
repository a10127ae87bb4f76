"""Turning Rasa's output (REST replies, tracker events) into what the chat page shows, and
(`for_agents`) what the console shows of the same conversation.

A chat message is ``{"role": "customer" | "bot" | "agent", "text": str, "at": epoch seconds,
"buttons": [{"title", "payload"}] (bot messages still waiting for an answer), "agent": name}``.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional

Message = Dict[str, Any]

_PAYLOAD = re.compile(r"/\w+(\{.*\})?", re.DOTALL)


def clean_buttons(raw: Any) -> List[Dict[str, str]]:
    """Only well-formed buttons, only the two fields the page uses."""
    buttons = []
    for button in raw if isinstance(raw, list) else []:
        if not isinstance(button, dict):
            continue
        title, payload = button.get("title"), button.get("payload")
        if isinstance(title, str) and isinstance(payload, str) and title.strip():
            buttons.append({"title": title, "payload": payload})
    return buttons


def wait_from_text(text: str, ticket_id: Optional[str]) -> str:
    """The expected-wait part of the hand-off text: what follows 'Your reference is <ticket id>.'"""
    if text and ticket_id:
        marker = f"{ticket_id}."
        at = text.find(marker)
        if at >= 0:
            return text[at + len(marker):].strip()
    return ""


def _handoff(custom: Any) -> Optional[Dict[str, Any]]:
    if isinstance(custom, dict) and isinstance(custom.get("handoff"), dict):
        return custom["handoff"]
    return None


def _page_handoff(found: Dict[str, Any], wait: str) -> Dict[str, Any]:
    """What the page's banner needs from a hand-off marker: the reference and the wait, plus
    `closed` when the marker says the centre is closed (open: false: nobody will read this tab
    tonight, actions/handoff.py) and `agent` once a colleague has the conversation."""
    handoff: Dict[str, Any] = {"ticket_id": found.get("ticket_id"), "wait": wait}
    if found.get("open") is False:
        handoff["closed"] = True
    if isinstance(found.get("agent"), str) and found["agent"]:
        handoff["agent"] = found["agent"]
    return handoff


def from_replies(replies: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
    """REST-channel replies -> {"messages": [...], "handoff": {"ticket_id", "wait"} | None}.

    The REST channel sends a hand-off as its text followed by a separate custom item."""
    messages: List[Message] = []
    handoff = None
    last_text = ""
    for reply in replies:
        text = reply.get("text")
        if isinstance(text, str) and text:
            message: Message = {"role": "bot", "text": text}
            buttons = clean_buttons(reply.get("buttons") or reply.get("quick_replies"))
            if buttons:
                message["buttons"] = buttons
            messages.append(message)
            last_text = text
        found = _handoff(reply.get("custom"))
        if found is not None:
            handoff = _page_handoff(found, found.get("wait") or wait_from_text(last_text, found.get("ticket_id")))
    return {"messages": messages, "handoff": handoff}


def _title_for(text: str, offered: List[Dict[str, str]]) -> Optional[str]:
    for button in offered:
        if button["payload"] == text:
            return button["title"]
    return None


def from_tracker(tracker: Dict[str, Any]) -> Dict[str, Any]:
    """A tracker (with events) -> the conversation as the page shows it."""
    messages: List[Message] = []
    offered: List[Dict[str, str]] = []   # buttons on offer since the last customer message
    offered_on: Optional[Message] = None
    handoff = None
    for event in tracker.get("events") or []:
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        at = event.get("timestamp")
        text = event.get("text") if isinstance(event.get("text"), str) else ""
        if kind == "user":
            title = _title_for(text, offered)
            offered, offered_on = [], None
            if text.strip():
                messages.append({"role": "customer", "text": title or text, "at": at})
        elif kind == "bot":
            metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
            data = event.get("data") if isinstance(event.get("data"), dict) else {}
            agent = metadata.get("agent")
            if isinstance(agent, str) and agent:
                if text:
                    messages.append({"role": "agent", "agent": agent, "text": text, "at": at})
                continue
            found = _handoff(data.get("custom"))
            if found is not None:
                handoff = _page_handoff(
                    found, found.get("wait") or metadata.get("wait") or wait_from_text(text, found.get("ticket_id")))
            if not text:
                continue
            message: Message = {"role": "bot", "text": text, "at": at}
            messages.append(message)
            buttons = clean_buttons(data.get("buttons") or data.get("quick_replies"))
            if buttons:
                offered, offered_on = buttons, message
        elif kind == "resume":
            handoff = None
    paused = bool(tracker.get("paused"))
    # Buttons only on the message still waiting for an answer, and never while a person
    # has the conversation (the bot is not listening then).
    if offered_on is not None and not paused:
        offered_on["buttons"] = offered
    slots = tracker.get("slots") if isinstance(tracker.get("slots"), dict) else {}
    return {
        "messages": messages,
        "ticket_id": slots.get("ticket_id") or None,
        "handed_off": paused,
        "handoff": handoff if paused else None,
    }


def status_of(tracker: Dict[str, Any]) -> Dict[str, Any]:
    """ticket_id and handed_off from a tracker fetched without events."""
    slots = tracker.get("slots") if isinstance(tracker.get("slots"), dict) else {}
    return {"ticket_id": slots.get("ticket_id") or None, "handed_off": bool(tracker.get("paused"))}


def for_agents(shown: Dict[str, Any]) -> Dict[str, Any]:
    """A conversation as `from_tracker` gives it, without the intent payloads a channel sends
    for the customer (the IVR's /greet at call start, a button whose title is unknown): they
    are not something the customer said."""
    messages = [m for m in shown.get("messages", [])
                if not (m.get("role") == "customer" and _PAYLOAD.fullmatch((m.get("text") or "").strip()))]
    return {**shown, "messages": messages}
