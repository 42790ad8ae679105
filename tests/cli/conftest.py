"""What the command-line tests share: a scripted model's answers in a file."""

import json
from pathlib import Path

from tests.conftest import answer


def write_answers(path: Path, values: list[float], *, whole: bool = False) -> Path:
    """A scripted-model file; `whole` answers replace the block, so every one applies."""
    texts = [f"```python\ndef f():\n    return {v!r}\n```" if whole else answer(v) for v in values]
    path.write_text("".join(json.dumps(t) + "\n" for t in texts))
    return path
