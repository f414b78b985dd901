"""Build: a document -> an episode on disk, through plan -> produce -> commit.

``pipeline`` is the entry point of one episode (``build``, ``dry_run``, ``run_plan``,
``say_text``); ``batch`` of a show folder and ``distributed`` of its sections on Dask.
They share the steps: ``plan`` (what a build will do, decided before any audio),
``produce`` (one section's segment through the clip and segment caches),
``schedule`` (sections on the cores), ``commit`` (place, tag and write, the one
commit path), with ``keys``, ``episode`` and ``output`` below them. ``watch`` is the
rebuild-on-save loop, ``voices`` installs Piper voices.
"""
