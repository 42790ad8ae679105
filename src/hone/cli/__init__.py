"""The command line: `hone run | resume | show | export | replay | note | dashboard | report |
examples | serve | docs`.

One module per command: `main` (the parser, the dispatch, errors as one sentence), `run`
(run and resume), `replay`, `show`, `export`, `note`, `dashboard`, `report`, `examples`,
`serve`, `docs`; `view` is what a run shows as it goes and when it stops.
"""

from hone.cli.main import entrypoint, main

__all__ = ["entrypoint", "main"]
