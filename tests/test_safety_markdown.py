"""Names shown inside Markdown render literally: no image, link, emphasis, math or directive."""

import re
import string

import pytest

from gaia_core.safety.markdown import escape_markdown

PUNCTUATION = re.escape(string.punctuation)
HOSTILE = [
    "![h](https://some.host/)x_*y*",
    "[click](javascript:alert(1))",
    "<https://some.host/> and https://some.host/ and www.some.host and me@some.host",
    "$\\sum$ costs $5 and $6",
    ":red[alarm] :material/home: :smile:",
    "# heading",
    "- item",
    "1. first",
    "> quote | table | row",
    "`code` ~~gone~~ **bold** __bold__",
    "&lt;b&gt; &#33;",
    "trailing backslash \\",
]


def as_rendered(markdown: str) -> str:
    """What CommonMark shows for text that holds only escapes: each backslash-escaped ASCII
    punctuation character is that character."""
    return re.sub(rf"\\([{PUNCTUATION}])", r"\1", markdown)


@pytest.mark.parametrize("name", HOSTILE)
def test_every_markdown_character_of_a_name_is_escaped_and_it_reads_back_unchanged(name):
    escaped = escape_markdown(name)
    assert as_rendered(escaped) == name
    # Outside escapes, no punctuation is left for a Markdown parser (or its extensions) to act on.
    assert not re.search(rf"[{PUNCTUATION}]", re.sub(rf"\\[{PUNCTUATION}]", "", escaped))


def test_image_syntax_in_a_folder_name_produces_no_image_and_no_url():
    escaped = escape_markdown("![h](https://some.host/)")
    assert "](" not in escaped and "![" not in escaped
    assert "https://" not in escaped  # a bare URL is not turned into a link either


def test_a_line_break_in_a_name_cannot_start_a_new_block():
    escaped = escape_markdown("folder\n# Heading\r\n- item\u2028x")
    assert "\n" not in escaped and "\r" not in escaped and "\u2028" not in escaped
    assert as_rendered(escaped) == "folder # Heading  - item x"


def test_letters_digits_spaces_and_non_ascii_names_are_left_alone():
    name = "Ünïcode 名前 42 photos"
    assert escape_markdown(name) == name
