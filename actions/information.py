"""Answers that open no complaint: a question about the policy itself, asked before any
complaint ("do you price match?", "how long is the warranty?"), answered from the catalog
(actions/policy_answers.py); anything else out of scope is told what the assistant is for."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.policy_answers import policy_answer


class ActionAnswerPolicyQuestion(Action):
    def name(self) -> Text:
        return "action_answer_policy_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        answer = policy_answer(tracker.latest_message.get("text") or "", context.catalog())
        if answer is None:
            dispatcher.utter_message(response="utter_out_of_scope")
        else:
            dispatcher.utter_message(response="utter_policy_answer", answer=answer.text)
        return []
