"""What the command line writes to the terminal: text with its control characters made visible,
and a progress bar per scored set.

Folder and file names end up in tables, warnings and errors; a name holding terminal escape codes
would otherwise recolour, move or rewrite the user's terminal.
"""

from __future__ import annotations

import sys
import unicodedata

from tqdm.auto import tqdm


def printable(text: str) -> str:
    """``text`` with every control or format character but the newline written as its escape
    (ESC -> ``\\x1b``, a right-to-left override -> ``\\u202e``)."""
    return "".join(c if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf") else ascii(c)[1:-1] for c in text)


def say(text: str = "", *, err: bool = False) -> None:
    """Print a line (to stderr with ``err``), control characters made visible."""
    print(printable(text), file=sys.stderr if err else sys.stdout)


class SetBars:
    """A progress bar per set on stderr, fed as ``bars(set title, done, total)`` (a `SetProgress`)."""

    def __init__(self) -> None:
        self._bars: dict[str, tqdm] = {}

    def __call__(self, title: str, done: int, total: int) -> None:
        bar = self._bars.get(title)
        if bar is None:
            bar = self._bars[title] = tqdm(total=total, initial=done, desc=printable(title), unit="img", leave=False)
        bar.update(done - bar.n)
        if done >= total:
            self._bars.pop(title).close()

    def of(self, title: str):
        """The bar of one set, as a ``progress(done, total)`` callback."""
        return lambda done, total: self(title, done, total)
