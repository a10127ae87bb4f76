"""What the agent service itself says to a customer, in one place.

The assistant's wording lives in domain.yml and the policy catalog, but these are said when
an agent acts in the console (resolve, hand back, claim), outside any Rasa turn, so neither
can hold them. Placeholders: {ticket_id}, {agent} (the agent's display name, never the
account name), {note} (the agent's resolution note, which the console says goes to the
customer).
"""
from __future__ import annotations

from typing import Optional

RESOLVED_WITH_NOTE = "Your complaint {ticket_id} has been resolved by {agent}: {note}"
RESOLVED = "Your complaint {ticket_id} has been resolved by {agent}."
RESOLVED_FOLLOW_UP = " If there's anything else, just write here and our assistant will help."
HANDED_BACK = ("{agent} has passed you back to our assistant, which knows everything about "
               "complaint {ticket_id} and can help with anything else.")
# Replaces the expected-wait line of the page's hand-off banner ("We're closed right now, so
# a colleague will pick this up when we open") once a colleague has the conversation.
WITH_AGENT = "{agent} from our team has your conversation now."


def resolved(ticket_id: str, agent: str, note: Optional[str]) -> str:
    note = " ".join((note or "").split())
    if note:
        text = RESOLVED_WITH_NOTE.format(ticket_id=ticket_id, agent=agent, note=note)
        if not text.endswith((".", "!", "?")):
            text += "."
    else:
        text = RESOLVED.format(ticket_id=ticket_id, agent=agent)
    return text + RESOLVED_FOLLOW_UP


def handed_back(ticket_id: str, agent: str) -> str:
    return HANDED_BACK.format(ticket_id=ticket_id, agent=agent)


def with_agent(agent: str) -> str:
    return WITH_AGENT.format(agent=agent)
