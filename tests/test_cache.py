from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from narrator.cache import Cache, default_cache_dir, make_key


def test_put_get_roundtrip(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("clips", "ab" * 32, b"payload", {"lengths": [7]})
    entry = cache.get("clips", "ab" * 32)
    assert entry is not None
    assert entry.read_payload() == b"payload"
    assert entry.meta == {"lengths": [7]}


def test_put_from_file_streams(tmp_path: Path) -> None:
    src = tmp_path / "frames.bin"
    src.write_bytes(os.urandom(3 << 20))
    cache = Cache(tmp_path / "c")
    cache.put("segments", "cd" * 32, payload_path=src, meta={"frames": 3})
    entry = cache.get("segments", "cd" * 32)
    assert entry is not None and entry.read_payload() == src.read_bytes()


def test_missing_is_a_miss(tmp_path: Path) -> None:
    assert Cache(tmp_path).get("clips", "00" * 32) is None


def test_damaged_entry_is_a_miss_and_removed(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    entry = cache.put("clips", "ef" * 32, b"x" * 1000, {})
    data = bytearray(entry.path.read_bytes())
    data[-10] ^= 0xFF  # flip a payload byte: checksum mismatch
    entry.path.write_bytes(bytes(data))
    assert cache.get("clips", "ef" * 32) is None
    assert not entry.path.exists()


def test_truncated_entry_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    entry = cache.put("clips", "12" * 32, b"y" * 1000, {})
    entry.path.write_bytes(entry.path.read_bytes()[:-1])
    assert cache.get("clips", "12" * 32) is None


def test_garbage_entry_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    path = tmp_path / "clips" / "34" / ("34" * 32 + ".nrc")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF not a cache entry")
    assert cache.get("clips", "34" * 32) is None


def test_no_temporary_files_left(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for i in range(5):
        cache.put("clips", f"{i:02d}" * 32, b"z", {})
    assert list((tmp_path / "tmp").iterdir()) == []


def test_info_and_prune(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    old = cache.put("clips", "aa" * 32, b"1" * 100, {})
    cache.put("segments", "bb" * 32, b"2" * 100, {})
    past = time.time() - 40 * 86400
    os.utime(old.path, (past, past))
    info = cache.info()
    assert info.entries == 2
    assert info.by_kind == {
        "clips": 1,
        "segments": 1,
        "covers": 0,
        "speech": 0,
        "pictures": 0,
        "latest": 0,
        "voices": 0,
    }
    assert info.size_bytes > 200
    pruned = cache.prune(older_than_days=30)
    assert pruned.removed == 1 and pruned.freed_bytes > 100
    assert cache.get("clips", "aa" * 32) is None
    assert cache.get("segments", "bb" * 32) is not None
    assert cache.prune(everything=True).removed == 1
    assert cache.info().entries == 0


def test_stale_tmp_cleanup(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    stale = cache.tmp_dir() / "left-by-kill.part"
    stale.write_bytes(b"partial")
    cache.clean_tmp(max_age_s=0)
    assert not stale.exists()


def test_default_dir_env(tmp_path: Path) -> None:
    from narrator.config import environment, load_settings

    env = {"NARRATOR_CACHE_DIR": str(tmp_path / "x")}
    assert environment(env).cache_dir == tmp_path / "x"
    assert load_settings(None, {}, env).cache_dir == tmp_path / "x"
    assert load_settings(None, {"cache_dir": tmp_path / "y"}, env).cache_dir == (
        tmp_path / "y"
    )
    assert "narrator" in str(default_cache_dir())


identities = st.dictionaries(
    st.sampled_from(["engine", "voice", "rate"]), st.text(max_size=5)
)
texts = st.lists(st.text(max_size=20), max_size=4)


@given(identities, texts, identities, texts)
def test_key_changes_iff_inputs_change(id1, t1, id2, t2) -> None:
    k1 = make_key({"engine": id1, "texts": t1})
    k2 = make_key({"engine": id2, "texts": t2})
    assert (k1 == k2) == (id1 == id2 and t1 == t2)


def test_key_ignores_dict_order() -> None:
    assert make_key({"a": 1, "b": 2}) == make_key({"b": 2, "a": 1})


def test_unverified_get_checks_header_and_length_only(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    entry = cache.put("segments", "56" * 32, b"z" * 1000, {"frames": 1})
    data = bytearray(entry.path.read_bytes())
    data[-3] ^= 0xFF  # same length, other bytes: only a full read can tell
    entry.path.write_bytes(bytes(data))
    quick = cache.get("segments", "56" * 32, verify=False)
    assert quick is not None and quick.meta == {"frames": 1}
    entry.path.write_bytes(bytes(data[:-1]))  # a length change is always seen
    assert cache.get("segments", "56" * 32, verify=False) is None


def test_cut_voices_are_counted_and_pruned_by_their_last_use(tmp_path: Path) -> None:
    """A Piper voice's halves (engines/piper_session) are cache too: info
    counts their bytes, prune removes a voice unused for the age given."""
    cache = Cache(tmp_path)
    voices = tmp_path / "voices"
    for name, age_days in (("old.v1", 40), ("new.v1", 1)):
        folder = voices / name
        folder.mkdir(parents=True)
        (folder / "text.onnx").write_bytes(b"t" * 1000)
        (folder / "parts.json").write_text("{}")
        when = time.time() - age_days * 86400
        os.utime(folder / "parts.json", (when, when))
    info = cache.info()
    assert info.by_kind["voices"] == 2 and info.size_bytes >= 2000
    pruned = cache.prune(older_than_days=30)
    assert (pruned.removed, pruned.kept) == (1, 0) and pruned.freed_bytes >= 1000
    assert sorted(p.name for p in voices.iterdir()) == ["new.v1"]
    assert cache.prune(everything=True).removed == 1
    assert list(voices.iterdir()) == [] and cache.info().entries == 0
