"""Publish: an episode (MP3, M4A or M4B) into a podcast feed and the show's web pages.

``podcast`` is the entry point (add, update or remove an episode); it reads the MP3
through ``episode_file``, writes the RSS with ``feed`` (``items`` and ``channel`` are
its values and settings, ``feed_reader`` reads back a feed it wrote) and the pages
with ``site`` (``player`` for an episode's chapters and transcript, ``markup`` for
escaping and formats; the CSS, scripts and page frame are files in ``assets/``).
"""
