"""Make scanned text safe to print: control characters are shown, never sent to the terminal.

A scanned repository controls file names, source lines, comments and the code a
message quotes. Printed raw, an escape sequence in any of them can recolour or erase
the report (`\\x1b[2J` clears the screen), move the cursor, set the window title, or
split a finding in two (a newline in a file name). The text and GitHub reports pass
every line they emit through `visible`, on a terminal and in `--output` files alike.

The scheme (Python's hexadecimal escapes, always in hex):

- C0 controls except tab (U+0000-U+0008, U+000A-U+001F), DEL (U+007F) and C1
  controls (U+0080-U+009F) become ``\\xHH``: ESC is the four characters ``\\x1b``,
  a newline ``\\x0a``;
- lone surrogates (an undecodable byte of a file name, as `os.fsdecode` keeps it)
  become ``\\udcHH``, so they can always be encoded;
- the Unicode line and paragraph separators (U+2028, U+2029) and the bidirectional
  formatting controls (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069: "Trojan
  Source", CVE-2021-42574) become ``\\uHHHH``, since some viewers break or reorder
  lines on them.

Tab is kept. Backslashes are not doubled (a source line's regex stays readable), so
the four characters ``\\x1b`` written literally in a file print the same as an ESC;
what matters is that nothing printed is interpreted. JSON and SARIF are structured:
`json.dumps` escapes control characters itself.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every character that a terminal or log viewer would interpret shown as an escape."""
    return _UNSAFE.sub(_show, text)
