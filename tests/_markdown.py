"""Markdown checked with a real CommonMark parser (markdown-it-py with GFM tables): every table parses as
a table, and every row has as many cells as its header (a GFM renderer silently drops or pads the cells
of a row that does not, so the parsed tokens alone cannot show it)."""
from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_block.table import escapedSplit


def _cells(line: str) -> int:
    """Cells of one table row as the GFM table rule splits it (``\\|`` is not a separator; an empty
    first or last piece, from the outer pipes, is dropped)."""
    columns = escapedSplit(line.strip())
    if columns and columns[0] == "":
        columns.pop(0)
    if columns and columns[-1] == "":
        columns.pop()
    return len(columns)


def table_problems(text: str) -> list[str]:
    """One line per problem: a ``|`` line that is not part of a parsed table (a broken header or
    delimiter row turns the whole table into a paragraph), or a row whose cell count differs from its
    header's. Empty when every table renders as written."""
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    problems, covered = [], set()
    for i, tok in enumerate(tokens):
        if tok.type != "table_open":
            continue
        start, end = tok.map
        covered.update(range(start, end))
        n_head = 0
        for t in tokens[i + 1:]:
            if t.type == "table_close":
                break
            n_head += t.type == "th_open"
        for row in range(start, end):
            if row == start + 1:  # the delimiter row
                continue
            n = _cells(lines[row])
            if n != n_head:
                problems.append(f"line {row + 1}: {n} cells under a {n_head}-column header: {lines[row][:120]}")
    for row, line in enumerate(lines):
        if line.lstrip().startswith("|") and row not in covered:
            problems.append(f"line {row + 1}: not rendered as a table row: {line[:120]}")
    return problems
