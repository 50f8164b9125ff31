"""GitHub's primaryLocationLineHash: the rolling hash code scanning uses to follow a result across edits."""

from __future__ import annotations

import array
import sys

_MASK = (1 << 64) - 1
_BLOCK = 100
_BASE = 37
_FIRST_MOD = pow(_BASE, _BLOCK, 1 << 64)
_EOF = 65535
_SPACE, _TAB, _LF, _CR = 32, 9, 10, 13


def line_hashes(text: str) -> list[str]:
    """`primaryLocationLineHash` of every line (index 0 = line 1), as codeql-action computes it.

    Port of github/codeql-action src/fingerprints.ts `hash`: over UTF-16 code
    units, spaces and tabs are dropped and CR / CRLF become LF; each line hashes
    the 100 kept characters starting at its first one (then an EOF marker 65535
    and zeros) with a base-37 polynomial modulo 2**64; the value is written in
    unpadded lower-case hex, followed by ":n", n counting equal hashes so far.
    """
    units = array.array("H", text.encode("utf-16-le"))
    if sys.byteorder == "big":  # pragma: no cover
        units.byteswap()
    kept: list[int] = []
    starts: list[int] = []
    line_start, prev_cr = True, False
    for unit in (*units, _EOF):
        if unit in (_SPACE, _TAB) or (prev_cr and unit == _LF):
            prev_cr = False
            continue
        current = _LF if unit == _CR else unit  # a CR ends a line as a LF does
        prev_cr = unit == _CR
        if line_start:
            line_start = False
            starts.append(len(kept))
        if current == _LF:
            line_start = True
        kept.append(current)
    kept.extend([0] * _BLOCK)
    prefix = [0] * (len(kept) + 1)
    h = 0
    for i, current in enumerate(kept):
        h = (h * _BASE + current) & _MASK
        prefix[i + 1] = h
    counts: dict[str, int] = {}
    hashes = []
    for start in starts:
        value = format((prefix[start + _BLOCK] - prefix[start] * _FIRST_MOD) & _MASK, "x")
        counts[value] = counts.get(value, 0) + 1
        hashes.append(f"{value}:{counts[value]}")
    return hashes


