"""``narrator check``: the app pitfalls of an MP3, an M4A/M4B or a podcast feed.

One module per kind of input (``mp3``, ``mp4``, ``feed``), the rules they
share (``chapters``, ``art``), the rule registry (``rules``: ids, the apps
each pitfall breaks and the fix), the untrusted-XML reader (``xmlsafe``),
the bounded URL fetch (``fetch``) and the dispatcher (``inspect``). Like
every package here, nothing is re-exported.
"""
