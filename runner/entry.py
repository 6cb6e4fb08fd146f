"""The `videoanalysis` command's first module: a stop while the rest is still importing ends the process quietly.

Importing the command line (OpenCV, numpy, the library) takes about a second; a Ctrl-C in it would otherwise print a
`KeyboardInterrupt` traceback from deep inside an import. Nothing has started yet, so there is nothing to clean up:
one line and the shell's exit code. Once `runner.cli.main` runs, its own handlers take over.
"""

import os
import signal
import sys
from typing import NoReturn


def _stop_while_starting(signum: int, _frame: object) -> None:
    os.write(sys.stderr.fileno(), b"interrupted\n" if signum == signal.SIGINT else b"terminated\n")
    os._exit(128 + signum)


def main() -> NoReturn:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_while_starting)
    from runner.cli import entry_point

    entry_point()
