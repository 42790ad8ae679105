"""Confinement of untrusted programs: namespaces, limits, a scrubbed environment
(`isolation`), the evaluation worker that runs each candidate confined (`worker`), and the
trusted-evaluator channel to a confined candidate (`program`, `codec`).

Where evaluations run (local workers, Ray) is `hone.executors`'. Nothing here imports asyncio:
the workers start fast.
"""
