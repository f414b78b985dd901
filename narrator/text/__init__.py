"""Text: the bytes of a summary file -> a `Document` of titled sections.

The flow, one module per step:

* `decode` - bytes -> text: byte order marks, UTF-8/16/32, cp1252, control
  characters, binary files refused (`decode_bytes`, `normalize_text`).
* `frontmatter` - the ``key: value`` lines between ``---`` fences atop the
  text (`parse_front_matter`).
* `markdown` - Markdown body lines -> heading and paragraph blocks; whether a
  body is Markdown at all (`looks_like_markdown`).
* `plain` - plain-text body lines -> blocks, headings found by their looks.
* `inline` - inline Markdown stripped to the words a listener should hear
  (`strip_inline_markdown`); both readers use it.
* `blocks` - the `Block` both readers produce, and the line tests they share.
* `sections` - puts them together: `parse_summary` (text -> Document) and
  `first_words` (the name of a section without a heading). Only this module
  imports the others.

Nothing is re-exported here: import each name from its module (a re-export
would add a level to every import chain through this package).
"""
