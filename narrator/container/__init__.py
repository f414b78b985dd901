"""The episode file: MP3 frames, their encoding and splicing, tags, sidecars, cover.

Bottom to top: ``crc`` and ``mpeg`` (header tables) are leaves; ``frames``
(the format, headers, frame arithmetic, the segment record) and ``info`` (the
Info/LAME frame) build on them; ``encode`` (PCM to checked segments, through
ffmpeg) and ``splice`` (the plan and the streaming splice) sit on top. Beside
them: ``tags`` (ID3, the only mutagen user), ``timeline`` (chapter and cue
times from the splice plan), ``sidecars`` (chapters JSON, WebVTT, SRT, their
names and digest), ``cover`` (the cover art) and ``boxes`` (the MP4 box
reader).
"""
