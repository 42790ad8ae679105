"""The fix step, the model's retry policy: an answer that cannot be applied goes back with its
error, in the same conversation, up to `[search] fix_attempts` times (chat models only)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from hone import budget
from hone.budget import Budget
from hone.exceptions import ModelError
from hone.hypothesis import Answer
from hone.models.metered import Metered
from hone.prompts import chat, parse_answer

log = logging.getLogger("hone")


@dataclass(frozen=True)
class Fixer:
    """Sends an answer that cannot be applied back to `model`, `attempts` times at most,
    while `limits` allow another call."""

    model: Metered
    limits: Budget
    attempts: int

    async def __call__(self, answer: Answer) -> Answer:
        """The answer, fixed if the model managed to (else the last one, unfixed)."""
        for _ in range(self.attempts if answer.request.messages else 0):
            model = self.model
            if answer.edit.ok or not budget.may_call(self.limits, model.usage, model.in_flight):
                break
            messages = chat.fix(answer.request.messages, answer.completion.text, answer.edit.reason)
            request = dataclasses.replace(answer.request, messages=messages)
            model.reserve()
            purpose = answer.launch.prompt.purpose(fix_of=answer.call_id)
            try:
                completion, call_id = await model.call(request, answer.launch.slot.round, purpose)
            except ModelError as error:  # the answer is kept, unfixed, as a failed hypothesis
                log.warning("a fix call failed; the answer stays as it was: %s", error)
                break
            edit = parse_answer(answer.launch.prompt, completion.text)
            answer = Answer(answer.launch, request, completion, call_id, edit)
        return answer
