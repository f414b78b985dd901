"""French text made speakable, with a per-engine profile.

``normalize.py`` is the entry point: :func:`~narrator.speech.normalize.normalize`
(and ``normalize_counted``, which also says what was left out), the "espeak" /
"gtts" profiles, the ordered list of rules, and ``speak_section`` (a section's
utterances and what its voice cannot read) with its shorthand
``prepare_section``. The rules are in ``rules/``, one module per kind of
written form, and their tables in ``rules/tables.py``; ``sentences.py`` splits
sentences, ``lexicon.py`` loads user lexicons, ``scripts.py`` names the writing
systems a French voice does not read. Nothing is re-exported here: import each
name from the module that defines it.
"""
