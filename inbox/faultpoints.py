"""Named pause points for crash tests: when ``INBOX_PAUSE_AT`` names a point, the process writes the
file named by ``INBOX_PAUSE_FILE`` on reaching it and blocks, so that a test can SIGKILL it at
exactly that point. Unset (always, in production), a point costs one dictionary lookup."""
from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["reach"]


def reach(point: str) -> None:
    if os.environ.get("INBOX_PAUSE_AT") != point:
        return
    marker = os.environ.get("INBOX_PAUSE_FILE")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("INBOX_PAUSE_SECONDS", "120")))
