"""The rules that make written French speakable, one module per kind of form.

Each module reads one kind of written form (dates and times, figures, money and
units, ordinals and Roman numerals, abbreviations, what is spelled out,
respellings, typography) and exports rules: functions of the text and the
:class:`~narrator.speech.rules.base.Pass` they run in. The order they run in
is ``RULES`` in ``narrator/speech/normalize.py``. The rules import only
``base.py``, ``tables.py`` and the leaf modules of ``narrator.speech``, so that
the normalizer stays two levels above them.
"""
