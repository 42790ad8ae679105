"""Verifiers a task's `evaluate.py` can use: each returns a `hone.Evaluation` with feedback.

They run where the evaluator runs, inside the sandbox, so model-written code they execute or
parse is contained like the rest of the candidate:

* `hone.verifiers.math`: SymPy/mpmath checks of expressions, equations and bounds;
* `hone.verifiers.tests`: input/expected-output cases and pytest-style test functions;
* `hone.verifiers.command`: build and run commands in any language, metrics read as JSON.
* `hone.verifiers.pytest_output`: a pytest run's counts and first failures, read from its output
  (what `[evaluation] command` reports of a test run).
"""
