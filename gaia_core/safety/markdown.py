"""Names a user chose (files, folders, sets, uploads, checkpoints) shown literally inside Markdown.

Streamlit renders most text as GitHub-flavoured Markdown, with math (``$``), directives
(``:red[…]``, ``:material/…:``) and bare-URL links on top. A folder named
``![h](https://some.host/)`` would make every visitor's browser fetch that host; ``*``, ``_`` and
``$`` garble names. CommonMark reads a backslash before any ASCII punctuation character as that
character, literally, so escaping every one of them leaves no syntax at all, whatever the
renderer's extensions; line breaks become spaces, since a new line could start a new block.
"""

from __future__ import annotations

import string

_ESCAPED = {ord(c): "\\" + c for c in string.punctuation}
# Line breaks and other control characters: a new line starts a new block (a heading, a list).
_ESCAPED |= {code: " " for code in (*range(0x20), 0x7F, 0x85, 0x2028, 0x2029)}


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders exactly ``text`` (on one line): every ASCII punctuation
    character backslash-escaped, control characters and line breaks replaced by spaces."""
    return str(text).translate(_ESCAPED)
