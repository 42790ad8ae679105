"""`python -m hone.sandbox EVALUATOR PROGRAM_FILENAME SETTINGS`: an evaluation worker
(`hone.sandbox.worker`; run as a module of its own, not as __main__, so that its bytecode is
cached)."""

import sys

from hone.sandbox.worker import main

sys.exit(main(sys.argv[1:]))
