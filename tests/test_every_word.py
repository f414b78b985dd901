"""Every word kept (issue 22): plain text's angle brackets, what the voice
leaves out counted and said, an episode title taken from the document.

Unit tests on the text and speech steps, then real builds (espeak-ng, ffmpeg)
read back with independent readers: mutagen, webvtt-py, feedparser and the
standard library's HTML parser.
"""

from __future__ import annotations

import html
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
import webvtt
from click.testing import CliRunner, Result
from mutagen.id3 import ID3

from narrator.cli import main
from narrator.model import Paragraph, Section
from narrator.speech.normalize import (
    MAX_LEFT_OUT_ITEM_CHARS,
    MAX_LEFT_OUT_ITEMS,
    normalize,
    speak_section,
)
from narrator.text.inline import strip_inline_markdown
from narrator.text.sections import parse_summary
from narrator.text.titles import MAX_TITLE_CHARS, shorten_title, stem_title

from .conftest import DATA, SEED

TAGS_TITLE = "Les balises <script> et <img onerror=alert(1)> dans les pages"


def run(*args: object) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args])


# -- plain text is plain text ----------------------------------------------------


def test_plain_text_keeps_angle_brackets_in_titles_and_text() -> None:
    doc = parse_summary(
        f"{TAGS_TITLE}\n"
        "Le navigateur exécute <b>ce code</b> sans prévenir &amp; vite.\n"
        "\n"
        "Les commentaires\n"
        "Un texte <!-- caché --> ici, a<b et <https://example.org> aussi.\n",
        path="balises.txt",
    )
    assert [s.title for s in doc.sections] == [TAGS_TITLE, "Les commentaires"]
    assert doc.sections[0].text == (
        "Le navigateur exécute <b>ce code</b> sans prévenir &amp; vite."
    )
    assert doc.sections[1].text == (
        "Un texte <!-- caché --> ici, a<b et <https://example.org> aussi."
    )


def test_markdown_html_is_still_markup() -> None:
    doc = parse_summary(
        "# Doc\n\n## Les <em>balises</em>\n\nDu <b>gras</b> &amp; du reste.\n",
        path="doc.md",
    )
    assert [s.title for s in doc.sections] == ["Les balises"]
    assert doc.sections[0].text == "Du gras & du reste."
    # A .md file without any Markdown structure: HTML is markup all the same.
    flat = parse_summary("Un texte <b>gras</b> et <br> voilà.\n", path="notes.md")
    assert flat.sections[0].text == "Un texte gras et voilà."
    # The same text in a .txt is what was typed.
    typed = parse_summary("Un texte <b>gras</b> et <br> voilà.\n", path="notes.txt")
    assert typed.sections[0].text == "Un texte <b>gras</b> et <br> voilà."


def test_inline_stripping_can_leave_html_alone() -> None:
    written = "**Gras** <i>x</i> &lt; <!-- c --> `code`"
    assert strip_inline_markdown(written) == "Gras x < code"
    assert (
        strip_inline_markdown(written, html=False)
        == "Gras <i>x</i> &lt; <!-- c --> code"
    )


@pytest.mark.parametrize(
    ("heading", "title", "has_heading"),
    [
        ("<span>Les enjeux</span>", "Les enjeux", True),
        ("<br>", "Le deuxième texte parle de budget…", False),
        ('<img src="logo.png">', "Le deuxième texte parle de budget…", False),
        ("<!-- rien -->", "Le deuxième texte parle de budget…", False),
    ],
)
def test_markdown_heading_of_html_only_opens_its_own_section(
    heading: str, title: str, has_heading: bool
) -> None:
    doc = parse_summary(
        "# Document\n\n## Premier\n\nLe premier texte.\n\n"
        f"## {heading}\n\nLe deuxième texte parle de budget et de dépenses.\n"
        "\n### <br>\n\nSuite du deuxième.\n",
        path="doc.md",
    )
    assert [s.title for s in doc.sections] == ["Premier", title]
    second = doc.sections[1]
    assert second.has_heading is has_heading
    assert [p.text for p in second.paragraphs] == [
        "Le deuxième texte parle de budget et de dépenses.",
        "Suite du deuxième.",
    ]
    assert second.line == 7
    # A made-up title is never spoken.
    spoken = [u.text for u in speak_section(second).utterances]
    assert spoken[0].startswith("Les enjeux" if has_heading else "Le deuxième")


def test_an_html_only_heading_with_nothing_under_it_is_no_section() -> None:
    doc = parse_summary("## Un\n\nTexte un.\n\n## <hr>\n\n## Deux\n\nTexte deux.\n")
    assert [s.title for s in doc.sections] == ["Un", "Deux"]


def test_a_text_file_with_markdown_headings_keeps_its_brackets() -> None:
    text = f"## {TAGS_TITLE}\n\nUn texte <b>gras</b> ici.\n\n## Deux\n\n<br>\nFin.\n"
    doc = parse_summary(text, path="balises.txt")
    assert [s.title for s in doc.sections] == [TAGS_TITLE, "Deux"]
    assert doc.sections[0].text == "Un texte <b>gras</b> ici."
    assert doc.sections[1].text == "<br> Fin."
    # The same text as Markdown: its HTML is markup.
    md = parse_summary(text, path="balises.md")
    assert [s.title for s in md.sections] == ["Les balises et dans les pages", "Deux"]
    assert md.sections[0].text == "Un texte gras ici."


@pytest.mark.parametrize(
    "heading",
    [
        "<h2>Le marché</h2>",
        '<H2 class="titre">Le <em>marché</em></H2>',
        "<h2>\nLe marché\n</h2>",
    ],
)
def test_an_html_heading_element_opens_a_section_in_markdown(heading: str) -> None:
    text = f"## Avant\n\nTexte avant.\n\n{heading}\n\nTexte du marché.\n"
    doc = parse_summary(text, path="doc.md")
    assert [s.title for s in doc.sections] == ["Avant", "Le marché"]
    assert doc.sections[1].text == "Texte du marché."
    # Without any # heading, the element alone still makes the outline.
    alone = parse_summary(f"Intro.\n\n{heading}\n\nTexte.\n", path="doc.md")
    assert [s.title for s in alone.sections][-1] == "Le marché"
    # In a text file the same line is text, read with the paragraph.
    plain = parse_summary(text, path="doc.txt")
    assert "Le marché" not in [s.title for s in plain.sections]


def test_an_html_heading_element_of_tags_only_opens_an_untitled_section() -> None:
    text = '## Un\n\nTexte un.\n\n<h2><img src="a.png"></h2>\n\nSans mots ici.\n'
    doc = parse_summary(text, path="doc.md")
    assert [s.title for s in doc.sections] == ["Un", "Sans mots ici"]


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        (
            TAGS_TITLE,
            "Les balises script et img onerror égale alert, un, dans les pages",
        ),
        ("Le code <b>gras</b> ici.", "Le code b gras ici."),
        ("Un <br/> saut et <hr /> fin.", "Un br saut et hr fin."),
        ("Un texte <!-- caché --> ici.", "Un texte caché ici."),
        ("Tom &amp; Jerry.", "Tom et Jerry."),
        ("&lt;script&gt; est une balise.", "script est une balise."),
        ("Si a < b alors b > a.", "Si a inférieur à b alors b supérieur à a."),
    ],
)
def test_markup_typed_as_text_is_read_as_its_words(written: str, spoken: str) -> None:
    assert normalize(written) == spoken
    assert "inférieur" not in normalize(TAGS_TITLE)


# -- nothing dropped silently --------------------------------------------------------


def section(text: str, title: str = "Titre") -> Section:
    return Section(title, (Paragraph(text),))


def test_left_out_is_counted_by_kind_and_listed_as_written() -> None:
    spoken = speak_section(
        section(
            "Bravo 🎉 à tous ★★★ et 👍🏽 ❤️ le ⌘ fin. Un\x07bip. Le nom القاهرة reste.",
            title="Le Caire القاهرة",
        )
    )
    texts = [u.text for u in spoken.utterances]
    assert texts[0] == "Le Caire"
    assert not any(c in "".join(texts) for c in "🎉★👍❤⌘\x07")
    assert dict(spoken.dropped) == {
        "Arabic": 14,
        "emoji": 3,
        "symbol": 4,
        "control": 1,
    }
    assert spoken.left_out_count == 22
    assert spoken.left_out_items == (
        "القاهرة",
        "❤️",
        "🎉",
        "★★★",
        "👍🏽",
        "⌘",
        "U+0007",
    )
    assert spoken.left_out() == (
        "14 Arabic characters, 4 symbols, 3 emoji, 1 control character"
    )


def test_nothing_left_out_of_ordinary_text() -> None:
    spoken = speak_section(
        section("L'IA coûte 1,5 M€ (soit 3 %) — « vraiment » ; 2 × 3 = 6… *bien*.")
    )
    assert spoken.dropped == () and spoken.left_out_items == ()


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (
            "Premier point\nLe texte un.\n🚀🚀🚀\n***\n"
            "Second point\nLe texte deux.\n→ ★\n",
            "a.txt",
        ),
        (
            "# T\n\n## Premier point\n\nLe texte un.\n\n🚀🚀🚀\n\n***\n\n"
            "## Second point\n\nLe texte deux.\n\n→ ★\n",
            "a.md",
        ),
    ],
)
def test_a_line_of_signs_is_counted_in_its_section(text: str, path: str) -> None:
    doc = parse_summary(text, path=path)
    assert [(s.title, s.text, s.signs) for s in doc.sections] == [
        ("Premier point", "Le texte un.", ("🚀🚀🚀",)),
        ("Second point", "Le texte deux.", ("→ ★",)),
    ]
    first, second = (speak_section(s) for s in doc.sections)
    assert [u.text for u in first.utterances] == ["Premier point", "Le texte un."]
    assert dict(first.dropped) == {"emoji": 3} and first.left_out_items == ("🚀🚀🚀",)
    assert dict(second.dropped) == {"symbol": 1} and second.left_out_items == ("★",)


def test_left_out_report_is_bounded() -> None:
    many = " ".join(chr(0x2600 + i) + "x" for i in range(200))
    long_run = "★" * 500
    spoken = speak_section(section(f"{long_run} et {many}."))
    assert spoken.left_out_count == 700
    assert len(spoken.left_out_items) == MAX_LEFT_OUT_ITEMS
    assert all(len(i) <= MAX_LEFT_OUT_ITEM_CHARS for i in spoken.left_out_items)
    assert spoken.left_out_items[0].endswith("…")


def test_build_and_sections_warn_once_per_section(
    tmp_path: Path, cache_dir: Path
) -> None:
    doc = tmp_path / "symboles.txt"
    doc.write_text(
        "Les signes\nUn texte avec ★ et ☂ dans la phrase. Et 🎉 ici.\n\n"
        "Sans signe\nUn texte ordinaire et complet.\n\n"
        "Encore des signes\nUn dernier ⌘ pour finir.\n",
        encoding="utf-8",
    )
    listed = run("sections", doc, "--spoken", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["left_out"] for r in rows] == [3, 0, 1]
    assert rows[0]["left_out_text"] == ["★", "☂", "🎉"]
    assert rows[0]["left_out_kinds"] == {"symbol": 2, "emoji": 1}
    warned = listed.stderr.splitlines()
    assert len(warned) == 2
    assert warned[0].startswith("narrator: section 1 «Les signes»: 2 symbols, 1 emoji")
    assert "«★», «☂», «🎉»" in warned[0]
    assert "section 3 «Encore des signes»" in warned[1] and "«⌘»" in warned[1]

    built = run("build", doc, "-o", tmp_path / "out" / "s.mp3", "--engine", "espeak")
    assert built.exit_code == 0, built.stderr
    lines = [line for line in built.stderr.splitlines() if "left out" in line]
    assert lines == warned


# -- an episode title from the document ----------------------------------------------


@pytest.mark.parametrize(
    ("stem", "title"),
    [
        ("budget-2026", "Budget 2026"),
        ("rapport_ONU_2024", "Rapport ONU 2024"),
        ("la réunion du lundi", "La réunion du lundi"),
        ("l'économie.en.2025", "L'économie en 2025"),
        ("Chapitre-3", "Chapitre 3"),
        ("000_4308e03e8e9adbfa", None),
        ("IMG_1234", None),
        ("DSC-0042", None),
        ("doc1", None),
        ("notes_v2_final", None),
        ("2024-03-15", None),
        ("deadbeefcafe", None),
        ("rapport_20240315", None),
        ("a-b-c", None),
        ("", None),
    ],
)
def test_stem_title_keeps_only_words(stem: str, title: str | None) -> None:
    assert stem_title(stem) == title


def test_shorten_title_cuts_at_a_word_boundary() -> None:
    assert shorten_title("Une phrase courte.") == "Une phrase courte"
    assert shorten_title("Vraiment ?") == "Vraiment ?"
    long = (
        "Cette entrevue avec Sam Altman, cofondateur et PDG d'OpenAI, explore "
        "les implications de l'IA."
    )
    cut = shorten_title(long)
    assert (
        cut == "Cette entrevue avec Sam Altman, cofondateur et PDG d'OpenAI, explore…"
    )
    assert len(cut) <= MAX_TITLE_CHARS
    assert long.startswith(cut[:-1])
    word = "a" * 100
    assert shorten_title(word) == "a" * (MAX_TITLE_CHARS - 1) + "…"
    for n in range(60, 80):
        text = " ".join(["mot"] * n)
        short = shorten_title(text)
        assert len(short) <= MAX_TITLE_CHARS and not short.startswith(" ")
        assert (
            short.rstrip("…").split() == text.split()[: len(short.rstrip("…").split())]
        )


SEED_TITLE = "Cette entrevue avec Sam Altman, cofondateur et PDG d'OpenAI, explore…"


def test_seed_is_titled_by_its_first_sentence_everywhere(
    tmp_path: Path, cache_dir: Path
) -> None:
    """Tags, drawn cover, feed and site all take the same title."""
    from .test_cli import fill_config

    pod = tmp_path / "pod"
    assert run("init-podcast", pod / "podcast.toml").exit_code == 0
    fill_config(pod / "podcast.toml")
    mp3 = pod / "seed.mp3"
    built = run("build", SEED, "-o", mp3, "--engine", "espeak")
    assert built.exit_code == 0, built.stderr
    said = [line for line in built.stderr.splitlines() if "no episode title" in line]
    assert len(said) == 1
    assert f"«{SEED_TITLE}» (from its first sentence)" in said[0]
    tags = ID3(mp3)
    assert tags["TIT2"].text[0] == SEED_TITLE
    shown = [f.pprint() for k, f in tags.items() if k != "TXXX:NARRATOR_SOURCE"]
    assert not any("4308e03e8e9adbfa" in line for line in shown)
    assert tags.getall("APIC")  # the cover, drawn from that title

    published = run(
        "publish", mp3, "--feed", pod / "feed.xml", "--base-url", "https://e.org/p/"
    )
    assert published.exit_code == 0, published.stderr
    feed = feedparser.parse((pod / "feed.xml").read_bytes())
    assert not feed.bozo
    assert [e.title for e in feed.entries] == [SEED_TITLE]
    page = _page_text(pod / "seed.html")
    assert SEED_TITLE in page and "000_4308e03e8e9adbfa" not in page


def test_a_stem_of_words_names_the_episode(tmp_path: Path, cache_dir: Path) -> None:
    doc = tmp_path / "budget-2026.txt"
    shutil.copy(DATA / "parse" / "notes_v2_final.txt", doc)
    built = run("build", doc, "-o", tmp_path / "b.mp3", "--engine", "espeak")
    assert built.exit_code == 0, built.stderr
    assert "«Budget 2026» (from the file name)" in built.stderr
    assert ID3(tmp_path / "b.mp3")["TIT2"].text[0] == "Budget 2026"


# -- the literal text, through the real pipeline ------------------------------


class _Page(HTMLParser):
    """A page's text and its elements, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _page_text(path: Path) -> str:
    return " ".join(" ".join(_page(path).text).split())


def test_angle_brackets_reach_tags_sidecars_feed_and_site_intact(
    tmp_path: Path, cache_dir: Path
) -> None:
    from .test_cli import fill_config

    pod = tmp_path / "pod"
    assert run("init-podcast", pod / "podcast.toml").exit_code == 0
    fill_config(pod / "podcast.toml")
    episode_title = "Les balises <script> & <img> expliquées"
    sentence = "Le navigateur exécute <b>ce code</b> sans prévenir."
    doc = tmp_path / "balises.txt"
    doc.write_text(
        f'---\ntitle: "{episode_title}"\n---\n'
        f"{TAGS_TITLE}\n{sentence} Un filtre le bloque.\n\n"
        "Les comparaisons\nOn écrit a < b et c > d dans les notes.\n",
        encoding="utf-8",
    )
    listed = run("sections", doc, "--spoken", "--json")
    rows = json.loads(listed.stdout)
    assert rows[0]["title"] == TAGS_TITLE
    assert rows[0]["utterances"][0] == (
        "Les balises script et img onerror égale alert, un, dans les pages"
    )
    assert rows[0]["left_out"] == 0 and listed.stderr == ""

    mp3 = pod / "balises.mp3"
    built = run("build", doc, "-o", mp3, "--engine", "espeak")
    assert built.exit_code == 0, built.stderr
    tags = ID3(mp3)
    assert tags["TIT2"].text[0] == episode_title
    chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [c.sub_frames["TIT2"].text[0] for c in chapters] == [
        TAGS_TITLE,
        "Les comparaisons",
    ]
    assert sentence in tags.getall("USLT")[0].text

    sidecar = json.loads((pod / "balises.chapters.json").read_text(encoding="utf-8"))
    assert sidecar["chapters"][0]["title"] == TAGS_TITLE
    vtt_raw = (pod / "balises.vtt").read_text(encoding="utf-8")
    assert "<b>" not in vtt_raw  # escaped: WebVTT reads "<b>" as bold
    # webvtt-py hands back the cue text as written; its escapes are HTML's.
    cues = [html.unescape(c.text) for c in webvtt.read(str(pod / "balises.vtt"))]
    assert cues[:2] == [TAGS_TITLE, sentence]
    assert "On écrit a < b et c > d dans les notes." in cues

    published = run(
        "publish", mp3, "--feed", pod / "feed.xml", "--base-url", "https://e.org/p/"
    )
    assert published.exit_code == 0, published.stderr
    raw_feed = (pod / "feed.xml").read_text(encoding="utf-8")
    assert "<script>" not in raw_feed and "<img " not in raw_feed
    feed = feedparser.parse(raw_feed.encode())
    assert not feed.bozo
    assert feed.entries[0].title == episode_title

    page = _page(pod / "balises.html")
    text = " ".join(" ".join(page.text).split())
    assert episode_title in text and TAGS_TITLE in text and sentence in text
    # No element of the page comes from the document's text.
    assert not any("onerror" in attrs for _, attrs in page.elements)
    assert not any(tag == "b" for tag, _ in page.elements)
