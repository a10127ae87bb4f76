"""Rasa's WhitespaceTokenizer, with tokens that compute their fingerprint once.

During `rasa train` every graph node's output is fingerprinted for the training cache, and a
message's fingerprint covers its tokens. Rasa's Token hashes its text, offsets and data
(a RegexFeaturizer, when there is one, adds a flag per pattern) from scratch on each call, so
the same tokens were hashed again after every featurizer: the largest single cost of training from
scratch (issue 12 keeps it under 60 s on two cores). Here a token is hashed once, in one
call over the same content (text, offsets, lemma, data), and the value kept until the token
changes through `set`, the only way Rasa's components change a token. Data that JSON cannot
write (none of this pipeline's) is hashed Rasa's way.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer as RasaWhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message


class FingerprintedToken(Token):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fingerprint: Optional[Text] = None

    def set(self, prop: Text, info: Any) -> None:
        self._fingerprint = None
        super().set(prop, info)

    def fingerprint(self) -> Text:
        if self._fingerprint is None:
            try:
                content = json.dumps([self.text, self.start, self.end, self.lemma, self.data], sort_keys=True)
                self._fingerprint = hashlib.md5(content.encode("utf-8")).hexdigest()
            except (TypeError, ValueError):
                self._fingerprint = super().fingerprint()
        return self._fingerprint


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class WhitespaceTokenizer(RasaWhitespaceTokenizer):
    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        return [FingerprintedToken(t.text, t.start, t.end, t.data, t.lemma) for t in super().tokenize(message, attribute)]
