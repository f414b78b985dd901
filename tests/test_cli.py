"""The command line contract: stdout, stderr, exit codes and files, end to end.

Every test runs the real click commands over the real espeak-ng engine, ffmpeg
and mutagen, on short documents, and reads the results back.
"""

from __future__ import annotations

import ast
import importlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import feedparser
import pytest
from click.testing import CliRunner, Result
from mutagen.mp3 import MP3
from PIL import Image

from narrator.build.output import output_lock
from narrator.build.plan import read_document
from narrator.cli import main
from narrator.speech.normalize import normalize, prepare_section
from narrator.speech.sentences import split_sentences

from .conftest import DATA, REPO, SEED_TITLES, decode_stats

COURT = DATA / "parse" / "court.md"
COURT_TITLES = ["Introduction", "Le calcul", "Conclusion"]
EXAMPLE = REPO / "examples" / "exemple.md"

# A document without front matter, so --title and friends are the tags.
PLAIN = """Premier point
La puissance de calcul est une ressource rare.

Second point
Les entreprises construisent de nouveaux centres de données.
"""

# The --json objects as README.md documents them.
BUILD_KEYS = {
    "output",
    "duration_s",
    "engine",
    "sections_synthesized",
    "sections_reused",
    "utterances_synthesized",
    "up_to_date",
    "chapters",
}
SECTION_KEYS = {
    "index",
    "title",
    "heading",
    "line",
    "paragraphs",
    "characters",
    "preview",
}


def run(*args: object) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args])


def one_error_line(result: Result) -> str:
    """The stderr of a failed command: exactly one line, no traceback."""
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def write_plain(tmp_path: Path) -> Path:
    src = tmp_path / "plain.txt"
    src.write_text(PLAIN, encoding="utf-8")
    return src


# -- 1. every command has --help --------------------------------------------


def _subcommand(group: click.Group, name: str) -> click.Command:
    found = group.get_command(click.Context(group), name)
    assert found is not None, name
    return found


def _command_paths(
    command: click.Command, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    yield prefix
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            yield from _command_paths(_subcommand(command, name), (*prefix, name))


COMMANDS = list(_command_paths(main))


def test_the_command_list_is_the_documented_one() -> None:
    names = {" ".join(p) for p in COMMANDS}
    documented = {
        "build",
        "sections",
        "info",
        "say",
        "watch",
        "cache",
        "cache info",
        "cache prune",
        "init-podcast",
        "publish",
    }
    assert documented <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "narrator")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    for flag in ("--help", "-h"):
        result = run(*path, flag)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("Usage: ")
        assert result.stderr == ""
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = _subcommand(command, name)
    assert (command.help or "").strip(), f"{path} has no help text"
    assert "--max-builds" not in run(*path, "--help").stdout  # test-only, hidden


def _command_modules() -> list[Path]:
    package = REPO / "narrator" / "cli"
    return [p for p in sorted(package.glob("*.py")) if p.name != "__init__.py"]


def test_command_modules_never_import_the_group() -> None:
    """The group imports the command modules and registers their commands
    (``main.add_command``); a command module importing ``narrator.cli`` itself
    (the group) would turn that around, so none does, wherever the import sits."""
    hits = []
    for path in _command_modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:  # relative: counted from the package, narrator.cli
                    parts = ["narrator", "cli"][: max(3 - node.level, 0)]
                    module = ".".join([*parts, *([module] if module else [])])
                names = {a.name for a in node.names}
                group = module == "narrator.cli" or (
                    module == "narrator" and "cli" in names
                )
            elif isinstance(node, ast.Import):
                group = any(a.name == "narrator.cli" for a in node.names)
            else:
                continue
            if group:
                hits.append(f"{path.name}:{node.lineno}")
    assert _command_modules() and hits == []


def test_every_command_of_every_module_is_registered_on_the_group() -> None:
    registered = []
    for path in COMMANDS:
        command: click.Command = main
        for name in path:
            assert isinstance(command, click.Group)
            command = _subcommand(command, name)
        registered.append(command)
    unregistered = [
        f"{path.stem}.{name}"
        for path in _command_modules()
        for name, value in vars(
            importlib.import_module(f"narrator.cli.{path.stem}")
        ).items()
        if isinstance(value, click.Command)
        and not any(value is command for command in registered)
    ]
    assert unregistered == []


# -- 2. sections ------------------------------------------------------------


def test_sections_json_contract_on_the_seed(seed_path: Path) -> None:
    result = run("sections", seed_path, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    assert [r["title"] for r in rows] == SEED_TITLES
    for row in rows:
        assert set(row) == SECTION_KEYS
        assert isinstance(row["characters"], int) and row["characters"] > 0
        assert 0 < len(row["preview"]) <= 81


def test_sections_text_is_readable(seed_path: Path) -> None:
    result = run("sections", seed_path)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    numbered = [line for line in lines if line[:4].strip().rstrip(".").isdigit()]
    assert len(numbered) == len(SEED_TITLES)
    for i, (line, title) in enumerate(zip(numbered, SEED_TITLES, strict=True), 1):
        assert line.lstrip().startswith(f"{i}. {title}  (")
        assert "chars" in line


def test_sections_spoken_is_what_the_engine_receives() -> None:
    result = run("sections", EXAMPLE, "--spoken", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    document = read_document(EXAMPLE)
    assert len(rows) == len(document.sections)
    for row, section in zip(rows, document.sections, strict=True):
        utterances = prepare_section(section, engine="espeak", lexicon={})
        texts = [u.text for u in utterances]
        assert set(row) == SECTION_KEYS | {
            "spoken",
            "utterances",
            "left_out",
            "left_out_text",
            "left_out_kinds",
        }
        assert row["utterances"] == texts
        assert row["spoken"] == "\n".join(texts)
        assert row["heading"] is section.has_heading is True
        assert row["spoken"].splitlines()[0] == section.title  # heading included
        assert row["left_out"] == 0
        assert row["left_out_text"] == [] and row["left_out_kinds"] == {}
    everything = "\n".join(r["spoken"] for r in rows)
    assert "1450" in EXAMPLE.read_text(encoding="utf-8")
    assert not any(c.isdigit() for c in everything)  # numbers are read out

    text = run("sections", EXAMPLE, "--spoken")
    assert text.exit_code == 0
    for row in rows:
        for utterance in row["utterances"]:
            assert f"     {utterance}\n" in text.stdout


@pytest.mark.parametrize(
    ("name", "name_words"),
    [
        # Each file's text shares no word with its name, spoken or written.
        ("09_titre_sans_texte.txt", {"09", "zéro", "neuf", "titre", "sans", "texte"}),
        ("notes_v2_final.txt", {"notes", "v2", "v", "deux", "final"}),
        ("notes_v2_final.md", {"notes", "v2", "v", "deux", "final"}),
    ],
)
def test_sections_never_speak_the_file_name(name: str, name_words: set[str]) -> None:
    path = DATA / "parse" / name
    result = run("sections", path, "--spoken", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    spoken = {w.lower() for r in rows for w in re.findall(r"\w+", r["spoken"])}
    assert not spoken & name_words, spoken & name_words
    first = rows[0]
    assert first["heading"] is False
    # The first thing said is the text itself, not a title before it.
    assert first["preview"].startswith(first["utterances"][0][:20])
    assert all(path.stem not in r["title"] for r in rows)


def test_sections_of_emoji_only_is_a_usage_error_naming_the_file() -> None:
    result = run("sections", DATA / "parse" / "emoji_et_touches.txt", "--spoken")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "emoji_et_touches.txt" in line and "emoji" in line
    assert result.stdout == ""


def test_sections_spoken_leaves_out_arabic_and_says_so() -> None:
    path = DATA / "speech" / "arabe_fr.md"
    result = run("sections", path, "--spoken", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["title"] for r in rows] == ["Le Caire aujourd'hui", "القاهرة", "Bilan"]
    assert "القاهرة" in rows[0]["preview"]  # the written text keeps it
    assert not re.search("[\u0600-\u06ff]", "".join(r["spoken"] for r in rows))
    assert [r["left_out_kinds"] for r in rows] == [
        {"Arabic": 7},
        {"Arabic": 39},
        {"Arabic": 24},
    ]
    assert [r["left_out"] for r in rows] == [7, 39, 24]
    assert rows[0]["left_out_text"] == ["القاهرة"]
    assert "مرحبا بكم في القاهرة" in rows[1]["left_out_text"]
    # One warning per section on stderr, naming it and what was left out.
    warned = [line for line in result.stderr.splitlines() if "left out" in line]
    assert len(warned) == 3
    assert "section 2 «القاهرة»: 39 Arabic characters" in warned[1]
    assert "«مرحبا بكم في القاهرة»" in warned[1]
    assert rows[1]["utterances"] == []
    text = run("sections", path, "--spoken")
    assert text.exit_code == 0
    assert "left out of the speech: 39 Arabic characters" in text.stdout
    assert text.stdout.count("nothing left to speak") == 1


def test_sections_errors_are_usage_errors(tmp_path: Path) -> None:
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    result = run("sections", empty)
    assert result.exit_code == 2
    assert "vide.txt" in one_error_line(result)

    result = run("sections", COURT, "--spoken", "--engine", "foo")
    assert result.exit_code == 2
    assert "foo" in result.stderr and "Traceback" not in result.stderr


# -- 3. build ---------------------------------------------------------------


def check_chapters(data: dict, titles: list[str]) -> None:
    chapters = data["chapters"]
    assert [c["title"] for c in chapters] == titles
    assert set(chapters[0]) == {"title", "start_s", "end_s"}
    assert chapters[0]["start_s"] == 0
    for a, b in zip(chapters, chapters[1:], strict=False):
        assert a["end_s"] == b["start_s"] and a["start_s"] < a["end_s"]
    assert abs(chapters[-1]["end_s"] - data["duration_s"]) <= 0.05


def test_build_json_default_output_and_up_to_date(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("build", COURT, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no progress bar: stderr is not a terminal
    data = json.loads(result.stdout)
    assert set(data) == BUILD_KEYS
    assert data["output"] == str(Path("output") / "court.mp3")
    assert (tmp_path / "output" / "court.mp3").is_file()
    assert data["engine"] == "espeak"
    assert (data["sections_synthesized"], data["sections_reused"]) == (3, 0)
    assert data["utterances_synthesized"] >= 6  # each section: a title, a sentence
    check_chapters(data, COURT_TITLES)
    mp3 = MP3(tmp_path / "output" / "court.mp3")
    assert abs(mp3.info.length - data["duration_s"]) <= 0.05

    again = run("build", COURT, "--json")
    assert again.exit_code == 0, again.stderr
    data2 = json.loads(again.stdout)
    assert data2["up_to_date"] is True
    assert (data2["sections_synthesized"], data2["sections_reused"]) == (0, 3)
    assert data2["utterances_synthesized"] == 0
    assert data2["chapters"] == data["chapters"]


def test_build_text_output_quiet_and_dash_o(tmp_path: Path, cache_dir: Path) -> None:
    out = tmp_path / "ep" / "episode.mp3"
    result = run("build", COURT, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{out}: 3 sections (3 synthesized, 0 reused)")
    assert out.is_file()
    visible = [p.name for p in out.parent.iterdir() if not p.name.startswith(".")]
    assert sorted(visible) == [
        "episode.chapters.json",
        "episode.mp3",
        "episode.srt",
        "episode.vtt",
    ]
    quiet = run("build", COURT, "-o", out, "--quiet", "--force")
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""

    up = run("build", COURT, "-o", out)
    assert up.exit_code == 0
    assert "up to date" in up.stdout


def test_dash_o_folder_and_non_mp3_name(tmp_path: Path, cache_dir: Path) -> None:
    folder = tmp_path / "episodes"
    folder.mkdir()
    result = run("build", COURT, "-o", folder, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output"] == str(folder / "court.mp3")
    assert (folder / "court.mp3").is_file()

    wav = tmp_path / "episode.wav"
    bad = run("build", COURT, "-o", wav)
    assert bad.exit_code == 2
    assert "episode.mp3" in one_error_line(bad)
    assert not wav.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_only_on_a_terminal(tmp_path: Path, cache_dir: Path) -> None:
    """stderr on a pseudo-terminal gets a bar; stdout (a pipe) the result only."""
    import pty

    leader, follower = pty.openpty()
    out = tmp_path / "tty.mp3"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "narrator", "build", COURT, "-o", out],
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, terminal
    assert "sections" in terminal and "3/3" in terminal
    assert proc.stdout.decode().startswith(f"{out}: 3 sections")
    assert "[" not in proc.stdout.decode()


def _files(root: Path) -> dict[str, int]:
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file()
    }


def test_dry_run_writes_nothing(tmp_path: Path, cache_dir: Path) -> None:
    src = tmp_path / "doc.md"
    src.write_text(COURT.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out" / "doc.mp3"

    cold = run("build", src, "-o", out, "--dry-run")
    assert cold.exit_code == 0, cold.stderr
    assert [line.split() for line in cold.stdout.splitlines()] == [
        ["synthesize", "Introduction"],
        ["synthesize", "Le", "calcul"],
        ["synthesize", "Conclusion"],
    ]
    assert not (tmp_path / "out").exists()
    assert _files(cache_dir) == {}

    assert run("build", src, "-o", out).exit_code == 0
    src.write_text(
        src.read_text(encoding="utf-8").replace("rare", "très rare"), encoding="utf-8"
    )
    before_cache, before_out = _files(cache_dir), _files(out.parent)
    edited = run("build", src, "-o", out, "--dry-run", "--json")
    assert edited.exit_code == 0, edited.stderr
    assert json.loads(edited.stdout) == [
        {"action": "reuse", "title": "Introduction"},
        {"action": "synthesize", "title": "Le calcul"},
        {"action": "reuse", "title": "Conclusion"},
    ]
    assert _files(cache_dir) == before_cache
    assert _files(out.parent) == before_out


def test_build_tags_from_options(tmp_path: Path, cache_dir: Path) -> None:
    src = write_plain(tmp_path)
    cover = tmp_path / "cover.png"
    Image.new("RGB", (1400, 1400), (200, 60, 30)).save(cover)
    out = tmp_path / "tags.mp3"
    result = run(
        "build",
        src,
        "-o",
        out,
        "--title",
        "Mon épisode",
        "--author",
        "Moi Même",
        "--podcast",
        "Mes résumés",
        "--date",
        "2026-11-27",
        "--episode",
        "7",
        "--cover",
        cover,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    check_chapters(json.loads(result.stdout), ["Premier point", "Second point"])
    tags = MP3(out).tags
    assert tags.version == (2, 3, 0)
    assert str(tags["TIT2"]) == "Mon épisode"
    assert str(tags["TPE1"]) == "Moi Même"
    assert str(tags["TALB"]) == "Mes résumés"
    assert str(tags["TRCK"]) == "7"
    assert str(tags["TDRC"]) == "2026-11-27"  # TYER + TDAT on disk (v2.3)
    apic = tags.getall("APIC")
    assert len(apic) == 1 and apic[0].mime == "image/png"
    assert Image.open(io.BytesIO(apic[0].data)).size == (1400, 1400)

    info = run("info", out, "--json")
    assert info.exit_code == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["title"] == "Mon épisode" and data["author"] == "Moi Même"
    assert data["date"] == "2026-11-27"


def test_build_id3_24_and_small_preset(tmp_path: Path, cache_dir: Path) -> None:
    src = write_plain(tmp_path)
    out = tmp_path / "v24.mp3"
    result = run("build", src, "-o", out, "--id3", "2.4", "--preset", "small")
    assert result.exit_code == 0, result.stderr
    mp3 = MP3(out)
    assert mp3.tags.version == (2, 4, 0)
    assert mp3.info.sample_rate == 22050
    assert mp3.info.channels == 1
    assert decode_stats(out)["returncode"] == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--date", "2026-13-45"], "--date"),
        (["--engine", "foo"], "foo"),
        (["--cover", "{bad_cover}"], "square"),
        (["--preset", "huge"], "--preset"),
    ],
    ids=["bad-date", "unknown-engine", "non-square-cover", "unknown-preset"],
)
def test_bad_build_options_exit_2_with_one_line(
    tmp_path: Path, cache_dir: Path, args: list[str], needle: str
) -> None:
    bad_cover = tmp_path / "wide.png"
    Image.new("RGB", (1600, 1400)).save(bad_cover)
    args = [a.replace("{bad_cover}", str(bad_cover)) for a in args]
    out = tmp_path / "out" / "x.mp3"
    result = run("build", COURT, "-o", out, *args)
    assert result.exit_code == 2
    if needle.startswith("--preset"):  # click's own usage error
        assert "Traceback" not in result.stderr and needle in result.stderr
    else:
        assert needle in one_error_line(result)
    assert not out.exists()
    assert not out.parent.exists()


# -- 4. info ----------------------------------------------------------------


def test_info_text_and_json(tmp_path: Path, cache_dir: Path) -> None:
    out = tmp_path / "court.mp3"
    assert run("build", COURT, "-o", out).exit_code == 0
    result = run("info", out, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["title"] == "Un épisode court"
    assert data["podcast"] == "Les Résumés du lundi"
    assert [c["title"] for c in data["chapters"]] == COURT_TITLES
    assert data["bitrate_mode"] == "CBR" and data["sample_rate"] == 44100

    text = run("info", out)
    assert text.exit_code == 0, text.stderr
    assert "title        Un épisode court" in text.stdout
    assert "chapters     3" in text.stdout
    for title in COURT_TITLES:
        assert title in text.stdout


def test_info_on_a_non_mp3_is_one_line(tmp_path: Path) -> None:
    result = run("info", COURT)
    assert result.exit_code == 2
    assert "court.md" in one_error_line(result)

    png = tmp_path / "fake.mp3"
    Image.new("RGB", (10, 10)).save(png, format="PNG")
    result = run("info", png)
    assert result.exit_code == 2
    assert "fake.mp3" in one_error_line(result)

    result = run("info", tmp_path / "absent.mp3")
    assert result.exit_code == 2
    assert "absent.mp3" in one_error_line(result)


# -- 5. cache ---------------------------------------------------------------


def test_cache_info_and_prune(tmp_path: Path, cache_dir: Path) -> None:
    empty = run("cache", "info", "--json")
    assert empty.exit_code == 0, empty.stderr
    assert json.loads(empty.stdout)["entries"] == 0

    assert run("build", COURT, "-o", tmp_path / "c.mp3").exit_code == 0
    text = run("cache", "info")
    assert text.exit_code == 0, text.stderr
    assert text.stdout.splitlines()[0] == f"location  {cache_dir}"
    assert "entries" in text.stdout and "MB" in text.stdout
    data = json.loads(run("cache", "info", "--json").stdout)
    assert data["path"] == str(cache_dir)
    assert data["entries"] >= 6  # 3 clips + 3 segments (+ the generated cover)
    assert data["size_bytes"] > 0

    usage = run("cache", "prune")
    assert usage.exit_code == 2
    assert "--older-than" in usage.stderr and "Traceback" not in usage.stderr

    kept = run("cache", "prune", "--older-than", "30")
    assert kept.exit_code == 0, kept.stderr
    assert kept.stdout.startswith("removed 0 entries")

    time.sleep(0.01)  # mtimes strictly before "now"
    pruned = run("cache", "prune", "--older-than", "0")
    assert pruned.exit_code == 0, pruned.stderr
    assert pruned.stdout.startswith(f"removed {data['entries']} entries")
    assert json.loads(run("cache", "info", "--json").stdout)["entries"] == 0

    # --all, on a cache filled again; the next build synthesizes everything.
    rebuilt = run("build", COURT, "-o", tmp_path / "c.mp3", "--force", "--json")
    assert json.loads(rebuilt.stdout)["sections_synthesized"] == 3
    everything = run("cache", "prune", "--all")
    assert everything.exit_code == 0
    assert json.loads(run("cache", "info", "--json").stdout)["entries"] == 0

    other = tmp_path / "elsewhere"
    flag = run("cache", "info", "--cache-dir", other, "--json")
    assert json.loads(flag.stdout)["path"] == str(other)


# -- 6. say -----------------------------------------------------------------


def test_say_writes_a_playable_mp3_and_shows_the_text(
    tmp_path: Path, cache_dir: Path
) -> None:
    phrase = "L'IA de M. Dupont a coûté 1,5 M€ en 2024."
    out = tmp_path / "essai.mp3"
    result = run("say", phrase, "-o", out, "--show")
    assert result.exit_code == 0, result.stderr
    spoken = " ".join(normalize(s, engine="espeak") for s in split_sentences(phrase))
    lines = result.stdout.splitlines()
    assert lines[0] == spoken
    assert "2024" not in lines[0] and "M." not in lines[0]
    assert lines[1].startswith(f"{out}: ")
    stats = decode_stats(out)
    assert stats["returncode"] == 0 and not stats["warnings"]
    assert stats["decoded_s"] > 1.0

    empty = run("say", "   ", "-o", tmp_path / "vide.mp3")
    assert empty.exit_code == 2
    one_error_line(empty)


# -- 7. init-podcast and publish ---------------------------------------------


def fill_config(path: Path) -> None:
    """Fill the starter's required keys as a user would, in its own TOML."""
    values = {
        "title": "Les Résumés du lundi",
        "author": "Claire Dubois",
        "email": "claire@example.org",
        "description": "Des résumés lus, un par semaine.",
        "link": "https://example.org/p/",
        "category": "Education",
    }
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key = line.split("=", 1)[0].strip()
        if key in values and not line.startswith("#"):
            line = f"{key} = {json.dumps(values[key], ensure_ascii=False)}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_init_podcast_build_publish_remove(tmp_path: Path, cache_dir: Path) -> None:
    pod = tmp_path / "pod"
    config = pod / "podcast.toml"
    result = run("init-podcast", config)
    assert result.exit_code == 0, result.stderr
    assert config.is_file()
    again = run("init-podcast", config)
    assert again.exit_code == 2
    assert "--force" in one_error_line(again)
    fill_config(config)

    mp3 = pod / "ep01.mp3"
    built = run("build", COURT, "-o", mp3, "--episode", "1")
    assert built.exit_code == 0, built.stderr

    feed = pod / "feed.xml"
    base = "https://example.org/p/"
    published = run("publish", mp3, "--feed", feed, "--base-url", base, "--json")
    assert published.exit_code == 0, published.stderr
    assert json.loads(published.stdout)["episodes"] == 1
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Les Résumés du lundi"
    assert len(parsed.entries) == 1
    entry = parsed.entries[0]
    assert entry.title == "Un épisode court"
    enclosure = entry.enclosures[0]
    assert enclosure.href == base + "ep01.mp3"
    assert int(enclosure.length) == mp3.stat().st_size
    assert enclosure.type == "audio/mpeg"

    text = run("publish", mp3, "--feed", feed, "--base-url", base)
    assert text.exit_code == 0, text.stderr
    assert text.stdout.strip().endswith("(1 episode)")
    assert len(feedparser.parse(feed.read_bytes()).entries) == 1  # updated in place

    removed = run("publish", mp3, "--feed", feed, "--base-url", base, "--remove")
    assert removed.exit_code == 0, removed.stderr
    assert feedparser.parse(feed.read_bytes()).entries == []


def test_publish_without_config_points_to_init_podcast(
    tmp_path: Path, cache_dir: Path
) -> None:
    mp3 = tmp_path / "ep.mp3"
    assert run("build", COURT, "-o", mp3).exit_code == 0
    feed = tmp_path / "nowhere" / "feed.xml"
    result = run("publish", mp3, "--feed", feed, "--base-url", "https://e.org/")
    assert result.exit_code == 2
    assert "init-podcast" in one_error_line(result)
    assert not feed.exists()


# -- 8. errors, --debug, interruption ----------------------------------------


def test_debug_shows_the_traceback_and_keeps_the_exit_code(tmp_path: Path) -> None:
    missing = tmp_path / "absent.txt"
    plain = run("build", missing)
    assert plain.exit_code == 2
    assert "absent.txt" in one_error_line(plain)

    debug = run("--debug", "build", missing)
    assert debug.exit_code == 2
    assert "Traceback (most recent call last)" in debug.stderr
    assert "SummaryError" in debug.stderr
    assert debug.stderr.splitlines()[-1] == plain.stderr.splitlines()[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a POSIX FIFO")
def _wait_blocked_in_read(pid: int) -> None:
    """Until the process's main thread sleeps in a pipe read (its wchan).

    The writer's open succeeds as soon as the build opens the FIFO, a few
    microseconds before it reads: a signal in that window is run by Python's
    handler before the read starts, and the read then blocks with the flag
    already set (CPython's classic signal race, not the build's). A user's
    Ctrl-C lands at no such instant; the test must not either.
    """
    wchan = Path(f"/proc/{pid}/wchan")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            where = wchan.read_text()
        except OSError:
            break
        if "pipe_read" in where:
            return
        if where.strip() in ("", "0"):  # the kernel hides wchan: wait instead
            break
        time.sleep(0.01)
    time.sleep(0.3)


def test_ctrl_c_exits_130_without_traceback(tmp_path: Path, cache_dir: Path) -> None:
    """A real SIGINT to a real build, caught while it reads the --intro file.

    The intro is a FIFO: the build blocks reading it, and the test knows it is
    there because its own open for writing succeeds only once a reader exists.
    """
    fifo = tmp_path / "intro.wav"
    os.mkfifo(fifo)
    out = tmp_path / "out" / "ep.mp3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "build", COURT, "-o", out, "--intro", fifo],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    writer = None
    try:
        deadline = time.monotonic() + 120
        while writer is None:
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the build never read the intro: {proc.stderr.read()}")
                time.sleep(0.02)
        _wait_blocked_in_read(proc.pid)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr.decode()
    assert stdout == b""
    lines = stderr.decode().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0], lines
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


# -- 9. the output lock -----------------------------------------------------


def test_second_build_of_a_locked_output_refuses(
    tmp_path: Path, cache_dir: Path
) -> None:
    out = tmp_path / "locked.mp3"
    with output_lock(out):
        result = run("build", COURT, "-o", out)
    assert result.exit_code == 1
    assert "another narrator build" in one_error_line(result)
    assert not out.exists()
    after = run("build", COURT, "-o", out)
    assert after.exit_code == 0, after.stderr
    assert out.is_file()


def test_narrator_toml_build_table_sets_defaults_below_env_and_options(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mutagen.mp3 import MP3

    doc = tmp_path / "court.md"
    shutil.copy(DATA / "parse" / "court.md", doc)
    (tmp_path / "narrator.toml").write_text(
        '[build]\npodcast = "Depuis le projet"\npreset = "small"\n'
        'author = "Projet"\n\n[lexicon]\n"Introduction" = "Intro"\n',
        encoding="utf-8",
    )
    out = tmp_path / "ep.mp3"
    runner = CliRunner(mix_stderr=False)
    result = runner.invoke(main, ["build", str(doc), "-o", str(out), "--author", "Moi"])
    assert result.exit_code == 0, result.stderr
    audio = MP3(out)
    assert audio.info.sample_rate == 22050  # preset from narrator.toml
    assert str(audio.tags["TALB"]) == "Depuis le projet"
    assert str(audio.tags["TPE1"]) == "Moi"  # the command line wins
    (tmp_path / "narrator.toml").write_text("[build]\nvolume = 3\n", encoding="utf-8")
    result = runner.invoke(main, ["build", str(doc), "-o", str(out)])
    assert result.exit_code == 2 and "volume" in result.stderr
    assert "Traceback" not in result.stderr


def test_environment_wins_over_narrator_toml(tmp_path: Path, cache_dir: Path) -> None:
    doc = tmp_path / "court.md"
    shutil.copy(DATA / "parse" / "court.md", doc)
    (tmp_path / "narrator.toml").write_text(
        '[build]\nengine = "gtts"\n', encoding="utf-8"
    )
    # tests/conftest.py sets NARRATOR_ENGINE=espeak for every test.
    result = CliRunner(mix_stderr=False).invoke(
        main, ["build", str(doc), "-o", str(tmp_path / "e.mp3"), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["engine"] == "espeak"


# -- only the document's words are spoken (issue 10) ------------------------


def test_build_warns_once_per_section_about_unreadable_script(
    tmp_path: Path, cache_dir: Path
) -> None:
    from mutagen.id3 import ID3

    out = tmp_path / "out" / "arabe.mp3"
    result = run("build", DATA / "speech" / "arabe_fr.md", "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "left out" in line]
    # Section 1 (a word), section 2 (title and text), section 3 (a paragraph).
    assert [line.split("«")[0].split("section ")[1].strip() for line in lines] == [
        "1",
        "2",
        "3",
    ]
    assert all("Arabic characters" in line for line in lines)
    assert "section 2 «القاهرة»: nothing left to speak" in result.stderr
    report = json.loads(result.stdout)
    assert [c["title"] for c in report["chapters"]] == [
        "Le Caire aujourd'hui",
        "Bilan",
    ]
    tags = ID3(out)
    transcript = tags.getall("USLT")[0].text
    assert not any("\u0600" <= ch <= "\u06ff" for ch in transcript.split("\n")[0])
    assert [f.sub_frames["TIT2"].text[0] for f in tags.getall("CHAP")] == [
        "Le Caire aujourd'hui",
        "Bilan",
    ]


def test_a_document_with_nothing_readable_is_bad_input(
    tmp_path: Path, cache_dir: Path
) -> None:
    doc = tmp_path / "tout_arabe.txt"
    doc.write_text("مرحبا بكم في القاهرة. المدينة كبيرة جدا.\n", encoding="utf-8")
    result = run("build", doc, "-o", tmp_path / "out" / "x.mp3")
    assert result.exit_code == 2
    assert "tout_arabe.txt" in one_error_line(result)
    assert not (tmp_path / "out" / "x.mp3").exists()


def test_title_falling_back_to_the_file_stem_is_said_once(
    tmp_path: Path, cache_dir: Path
) -> None:
    from mutagen.id3 import ID3

    doc = tmp_path / "notes_v2_final.txt"
    shutil.copy(DATA / "parse" / "notes_v2_final.txt", doc)
    out = tmp_path / "out" / "notes.mp3"
    result = run("build", doc, "-o", out)
    assert result.exit_code == 0, result.stderr
    warnings = [
        line for line in result.stderr.splitlines() if "no episode title" in line
    ]
    assert len(warnings) == 1 and "--title" in warnings[0]
    # «notes_v2_final» is not words: the first sentence, cut, names it.
    title = "Le télétravail a gagné du terrain dans les entreprises depuis trois…"
    assert ID3(out)["TIT2"].text[0] == title  # tags only: never spoken
    assert f"«{title}» (from its first sentence)" in warnings[0]
    titled = run("build", doc, "-o", out, "--title", "Le télétravail")
    assert titled.exit_code == 0 and "no episode title" not in titled.stderr
