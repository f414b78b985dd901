"""narrator check on feeds: enclosures, guids, transcripts, chapters JSON; the
feed as untrusted XML; local files (beside the feed, under --root) and URLs
fetched only with --fetch, from a server on 127.0.0.1 the test starts."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from narrator.check import feed as feed_rules
from narrator.check import fetch
from narrator.check.inspect import check_path
from narrator.cli import main
from narrator.publish.items import PODCAST_NS
from tests import checkfiles as cf

GUID = "0b6f2a52-5d1c-4a0e-9a53-7f2f8c1d9e01"
BASE = "https://example.org/pod/"
SRT = "1\n00:00:00,000 --> 00:00:01,500\nUn.\n"
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nUn.\n"


def run(*args: object) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args])


def item(
    *,
    guid: str = GUID,
    base: str = BASE,
    length: str | None = None,
    mime: str = "audio/mpeg",
    srt_type: str = "application/x-subrip",
    vtt_type: str = "text/vtt",
    chapters: str = "chapitres.json",
    size: int = 0,
) -> str:
    return f"""<item><title>Un</title><guid isPermaLink="false">{guid}</guid>
<enclosure url="{base}ep.mp3" length="{length or size}" type="{mime}"/>
<podcast:transcript url="{base}ep.srt" type="{srt_type}"/>
<podcast:transcript url="{base}ep.vtt" type="{vtt_type}"/>
<podcast:chapters url="{base}{chapters}" type="application/json+chapters"/>
</item>"""


def feed_text(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rss version="2.0" xmlns:podcast="{PODCAST_NS}"><channel>'
        f"<title>Résumés</title>{''.join(items)}</channel></rss>\n"
    )


def chapters_json(spans: list[tuple[str, float]]) -> str:
    entries = [{"startTime": s, "title": t} for t, s in spans]
    return json.dumps({"version": "1.2.0", "chapters": entries})


@pytest.fixture
def show(tmp_path: Path) -> Path:
    """A folder as a publisher keeps it: the episode, its sidecars, no feed yet."""
    folder = tmp_path / "show"
    folder.mkdir()
    mp3 = cf.cbr_mp3(folder / "ep.mp3")
    cf.add_chapters(mp3, [("Un", 0, 1500), ("Deux", 1500, 3000)])
    cf.add_guid(mp3, GUID)
    (folder / "ep.srt").write_text(SRT)
    (folder / "ep.vtt").write_text(VTT)
    (folder / "chapitres.json").write_text(chapters_json([("Un", 0), ("Deux", 1.5)]))
    return folder


def write_feed(folder: Path, *items: str) -> Path:
    path = folder / "feed.xml"
    path.write_text(feed_text(*items), encoding="utf-8")
    return path


def size(show: Path) -> int:
    return (show / "ep.mp3").stat().st_size


def feed_rules_of(path: Path, **opts: object) -> list[str]:
    reports = check_path(path, **opts)  # type: ignore[arg-type]
    return [p.rule for r in reports for p in r.problems]


def test_a_clean_feed_and_its_episode_pass(show: Path) -> None:
    path = write_feed(show, item(size=size(show)))
    said = run("check", path, "--json")
    assert said.exit_code == 0, said.stdout
    reports = json.loads(said.stdout)
    assert [(Path(r["path"]).name, r["kind"], r["problems"]) for r in reports] == [
        ("feed.xml", "feed", []),
        ("ep.mp3", "mp3", []),
    ]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"length": "12345"}, "enclosure-length"),
        ({"mime": "audio/x-m4a"}, "enclosure-type"),
        ({"guid": "a-new-guid"}, "guid-changed"),
        ({"srt_type": "text/plain"}, "transcript-type"),
        ({"vtt_type": "application/x-subrip"}, "transcript-type"),
    ],
)
def test_each_feed_rule(show: Path, changes: dict[str, str], rule: str) -> None:
    path = write_feed(show, item(size=size(show), **changes))
    assert feed_rules_of(path) == [rule]
    assert run("check", path).exit_code == 1


def test_two_items_sharing_a_guid(show: Path) -> None:
    one = item(size=size(show))
    assert feed_rules_of(write_feed(show, one, one)) == ["guid-duplicate"]


def test_a_chapters_json_disagreeing_with_the_episode(show: Path) -> None:
    (show / "autres.json").write_text(chapters_json([("Un", 0), ("Trois", 1.5)]))
    path = write_feed(show, item(size=size(show), chapters="autres.json"))
    assert feed_rules_of(path) == ["chapters-json-mismatch"]


def test_a_missing_enclosure_named_by_a_relative_url(show: Path) -> None:
    (show / "ep.mp3").rename(show / "elsewhere.mp3")
    path = write_feed(show, item(base=""))
    assert feed_rules_of(path) == ["enclosure-missing"]


def test_urls_are_not_fetched_without_fetch(show: Path, tmp_path: Path) -> None:
    away = tmp_path / "away"
    away.mkdir()
    path = write_feed(away, item(size=size(show)))
    said = run("check", path, "--json")
    assert said.exit_code == 0  # an info note, not a problem
    (report,) = json.loads(said.stdout)
    assert [p["rule"] for p in report["problems"]] == ["not-checked"]
    assert report["problems"][0]["severity"] == "info"


def test_files_under_root(show: Path, tmp_path: Path) -> None:
    away = tmp_path / "away"
    away.mkdir()
    root = tmp_path / "site"
    root.mkdir()
    show.rename(root / "pod")  # served as https://example.org/pod/
    path = write_feed(away, item(size=size(root / "pod")))
    rules = feed_rules_of(path, root=root)
    assert rules == []
    reports = check_path(path, root=root)
    assert [r.kind for r in reports] == ["feed", "mp3"]


def test_a_folder_checks_its_feed_and_each_file_once(show: Path) -> None:
    write_feed(show, item(size=size(show)))
    reports = check_path(show)
    assert sorted((Path(r.path).name, r.kind) for r in reports) == [
        ("ep.mp3", "mp3"),
        ("feed.xml", "feed"),
    ]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title></channel></rss>
"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<rss version="2.0"><channel><title>&secret;</title></channel></rss>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL], ids=["laughs", "xxe"])
def test_entities_are_refused_with_exit_2(tmp_path: Path, text: str) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(text)
    said = run("check", path)
    assert said.exit_code == 2
    assert "refused as unsafe XML" in said.stderr
    assert "Traceback" not in said.stderr and "lollol" not in said.stdout


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("<rss><channel>", "not well-formed XML"),
        ("<html><body/></html>", "not an RSS 2.0 feed"),
    ],
)
def test_a_broken_feed_exits_2(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(text)
    said = run("check", path)
    assert said.exit_code == 2
    assert says in said.stderr


def test_a_feed_over_the_size_cap(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_feed(show, item(size=size(show)))
    monkeypatch.setattr(feed_rules, "MAX_FEED_BYTES", 100)
    said = run("check", path)
    assert said.exit_code == 2
    assert "over 100 bytes" in said.stderr


@pytest.fixture
def server(show: Path) -> Iterator[str]:
    """The show folder served on 127.0.0.1 (quietly), as its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(show))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_checks_what_the_urls_serve(
    show: Path, tmp_path: Path, server: str
) -> None:
    away = tmp_path / "away"
    away.mkdir()
    path = write_feed(away, item(base=server, length="999"))
    said = run("check", path, "--fetch", "--json")
    assert said.exit_code == 1
    reports = json.loads(said.stdout)
    assert [r["kind"] for r in reports] == ["feed", "mp3"]
    assert reports[1]["path"] == f"{server}ep.mp3"
    assert [p["rule"] for p in reports[0]["problems"]] == ["enclosure-length"]
    path = write_feed(away, item(base=server, size=size(show)))
    assert run("check", path, "--fetch").exit_code == 0


def test_fetch_stops_at_the_size_cap(
    tmp_path: Path, server: str, show: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "MAX_MEDIA_BYTES", 1000)
    away = tmp_path / "away"
    away.mkdir()
    path = write_feed(away, item(base=server, size=size(show)))
    (report,) = check_path(path, fetch=True)
    (found,) = report.problems
    assert found.rule == "enclosure-missing"
    assert "over 1000 bytes" in found.message


def test_fetch_gives_up_on_a_silent_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "TIMEOUT_S", 0.5)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        path = write_feed(tmp_path, item(base=url, size=10))
        (report,) = check_path(path, fetch=True)
    finally:
        silent.close()
    (found,) = report.problems
    assert found.rule == "enclosure-missing"
    assert "cannot fetch" in found.message


def test_a_transcript_is_typed_by_what_it_holds(show: Path) -> None:
    (show / "ep.srt").write_text(VTT)  # WebVTT under an .srt name
    path = write_feed(show, item(size=size(show)))
    assert feed_rules_of(path) == ["transcript-type"]


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    said = run("check", tmp_path)
    assert said.exit_code == 0
    assert "no MP3, M4A/M4B or feed to check" in said.stderr
