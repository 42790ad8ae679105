"""Rounds: slots a round's worth at a time; in deterministic mode, steps in launch order."""

import asyncio

from hone.rounds import Rounds


def test_a_round_is_every_width_hypotheses() -> None:
    rounds = Rounds(2, deterministic=False, last_round=3)
    slots = [rounds.launch() for _ in range(5)]
    assert [(s.round, s.index) for s in slots] == [(4, 0), (4, 1), (5, 0), (5, 1), (6, 0)]
    assert rounds.may_launch(1) and not rounds.may_launch(2)


def test_deterministic_waits_for_the_round_and_orders_the_steps() -> None:
    rounds = Rounds(3, deterministic=True, last_round=0)
    assert rounds.may_launch(0)
    slots = [rounds.launch() for _ in range(3)]
    assert not rounds.may_launch(2)  # the next round waits for this one
    order: list[str] = []

    async def hypothesis(slot, delay: float) -> None:
        await asyncio.sleep(delay)  # the last launched answers first
        async with rounds.in_order(slot):
            order.append(f"answer {slot.index}")
        async with rounds.registering(slot):
            order.append(f"register {slot.index}")
        slot.close()

    async def go() -> None:
        await asyncio.gather(*(hypothesis(s, 0.03 - 0.01 * s.index) for s in slots))

    asyncio.run(go())
    assert order == [f"answer {i}" for i in range(3)] + [f"register {i}" for i in range(3)]


def test_a_slot_that_ends_early_does_not_hold_the_others() -> None:
    rounds = Rounds(2, deterministic=True, last_round=0)
    first, second = rounds.launch(), rounds.launch()

    async def go() -> None:
        first.close()  # its model call failed: it takes no further turn
        async with rounds.in_order(second):
            pass
        async with rounds.registering(second):
            pass

    asyncio.run(asyncio.wait_for(go(), 2))
