"""Audio: a section's clips -> mastered PCM, streamed one utterance at a time.

Pure numpy between the engine's audio and the encoder: ``decode`` makes a clip from
what an engine said (``clip`` is the stored clip itself), ``render`` lays it out with
its pauses and masters it (``gain`` to the loudness target, the ``peaks`` limiter,
``shaping``'s fades and resampling, measured by ``loudness``). The DSP modules import
no other narrator module.
"""
