"""Tests for narrator.text: bytes -> text -> Document."""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.errors import SummaryError
from narrator.model import Document
from narrator.text.decode import decode_bytes
from narrator.text.frontmatter import parse_front_matter
from narrator.text.inline import strip_inline_markdown
from narrator.text.sections import first_words, parse_summary

from .conftest import SEED, SEED_TITLES

DATA = Path(__file__).resolve().parent / "data" / "parse"
WORD = re.compile(r"[^\W_]+")


def load(name: str) -> tuple[Document, str]:
    path = DATA / name
    text, encoding = decode_bytes(path.read_bytes(), path=name)
    return parse_summary(text, path=name), encoding


def words(text: str) -> Counter[str]:
    return Counter(WORD.findall(unicodedata.normalize("NFC", text)))


def words_out(doc: Document) -> Counter[str]:
    out: Counter[str] = Counter()
    headings = {s.title for s in doc.sections if s.has_heading}
    if doc.title and doc.title not in headings:  # a heading may name the document
        out += words(doc.title)
    for section in doc.sections:
        if section.has_heading:  # else the title repeats the first words
            out += words(section.title)
        for paragraph in section.paragraphs:
            out += words(paragraph.text)
    return out


def titles(doc: Document) -> list[str]:
    return [s.title for s in doc.sections]


# --- the seed ---------------------------------------------------------------


def test_seed_has_its_eleven_sections_in_order() -> None:
    text, encoding = decode_bytes(SEED.read_bytes(), path=SEED.name)
    doc = parse_summary(text, path=SEED.name)
    assert encoding == "utf-8"
    assert titles(doc) == SEED_TITLES
    assert doc.title is None
    assert all(s.paragraphs for s in doc.sections)


def test_seed_flags_bullets_and_keeps_line_numbers() -> None:
    text, _ = decode_bytes(SEED.read_bytes())
    doc = parse_summary(text)
    first = doc.sections[0]
    assert [p.bullet for p in first.paragraphs] == [False] + [True] * 5
    assert first.paragraphs[1].text.startswith("L'IA est en train")
    assert not first.paragraphs[1].text.startswith("-")
    assert not any(p.bullet for s in doc.sections[1:] for p in s.paragraphs)
    source = text.split("\n")
    for section in doc.sections:
        assert source[section.line - 1] == section.title
        for paragraph in section.paragraphs:
            assert paragraph.text[:30] in source[paragraph.line - 1]


def test_seed_loses_no_word() -> None:
    text, _ = decode_bytes(SEED.read_bytes())
    assert words_out(parse_summary(text)) == words(text)


# --- Markdown fixtures --------------------------------------------------------


def test_markdown_front_matter_is_read_into_meta() -> None:
    doc, encoding = load("resume_complet.md")
    assert encoding == "utf-8"
    assert doc.meta == {
        "title": "L'IA et nous : entretien avec Sam Altman",
        "author": "Claire Dubois",
        "date": "2024-03-18",
        "description": "Résumé d'un entretien sur l'avenir de l'IA, en trois parties.",
        "podcast": "Les Résumés du lundi",
        "episode": "12",
        "cover": "images/couverture.jpg",
        "language": "fr",
        "tags": "IA, technologie",
    }
    assert doc.title == "L'IA et nous : entretien avec Sam Altman"


def test_markdown_sections_and_line_numbers() -> None:
    doc, _ = load("resume_complet.md")
    # The lone H1 opens the document: its intro text becomes a section, the
    # H2s are the sections and the H3 is read as a sentence.
    assert titles(doc) == [
        "L'IA et nous",
        "Les grands enjeux",
        "Infrastructure et partenaires",
        "Conclusion",
    ]
    source = (DATA / "resume_complet.md").read_text(encoding="utf-8").split("\n")
    for section in doc.sections:
        assert section.title in source[section.line - 1]
    enjeux = doc.sections[1]
    assert "Chiffres clés." in [p.text for p in enjeux.paragraphs]
    assert [p.text for p in enjeux.paragraphs if p.bullet] == [
        "Le calcul est la ressource clé ;",
        "la sécurité reste une priorité\u00a0;",
        "OpenAI explore de nouveaux modèles économiques.",
    ]
    assert enjeux.paragraphs[0].line == 26


def test_markdown_syntax_is_never_read_aloud() -> None:
    doc, _ = load("resume_complet.md")
    spoken = "\n".join([s.title for s in doc.sections] + [s.text for s in doc.sections])
    for markup in ("*", "_", "[", "]", "](", "<", ">", "&amp;", "&nbsp;", "`", "|"):
        assert markup not in spoken, markup
    for hidden in (
        "print",
        "Brouillon",
        "altman.jpg",
        "Portrait",
        "openai.com",
        "note",
    ):
        assert hidden not in spoken, hidden
    assert ":::" not in spoken and "~~" not in spoken and "[^1]" not in spoken
    paragraphs = [p.text for s in doc.sections for p in s.paragraphs]
    assert (
        "Cet épisode résume un entretien avec Sam Altman, PDG d'OpenAI, "
        "publié par Lex Fridman." in paragraphs
    )
    # table rows, header included, read as sentences
    assert "Utilisateurs hebdomadaires, 100 millions." in paragraphs
    assert "Lancement de ChatGPT, novembre 2022." in paragraphs
    # code spans keep their text, autolinks their address, HTML its inner text
    assert "Pour en savoir plus, lisez l'article complet ou le README du projet." in (
        paragraphs
    )
    assert "Des puces spécialisées, voir https://example.org/puces." in paragraphs
    assert (
        "Microsoft fournit l'essentiel de l'infrastructure de calcul d'OpenAI."
        in paragraphs
    )
    assert (
        "Altman reste optimiste & prudent : l'avenir dépendra de nos choix collectifs."
        in paragraphs
    )
    assert "Nous sommes au tout début de cette technologie." in paragraphs


def test_short_markdown_fixture_for_end_to_end_tests() -> None:
    doc, _ = load("court.md")
    assert doc.title == "Un épisode court"
    assert titles(doc) == ["Introduction", "Le calcul", "Conclusion"]
    assert doc.meta["episode"] == "3"
    for section in doc.sections:
        assert 0 < section.characters <= 300
        assert "*" not in section.text and "](" not in section.text
    assert "consultez le site du projet." in doc.sections[2].text


# --- encodings ---------------------------------------------------------------


def test_cp1252_fixture() -> None:
    doc, encoding = load("latin1.txt")
    assert encoding == "cp1252"
    assert titles(doc) == ["Le contexte", "Les enjeux", "La suite"]
    text = "\n".join(s.text for s in doc.sections)
    for char in ("’", "«", "»", "œ", "é"):
        assert char in text
    assert [p.bullet for p in doc.sections[1].paragraphs] == [False, True, True]
    assert all(s.characters <= 300 for s in doc.sections)


def test_crlf_fixture() -> None:
    raw = (DATA / "crlf.txt").read_bytes()
    assert b"\r\n" in raw
    doc, encoding = load("crlf.txt")
    assert encoding == "utf-8"
    assert titles(doc) == ["Premier thème", "Deuxième thème", "Dernier thème"]
    first = doc.sections[0].paragraphs
    assert len(first) == 1 and first[0].line == 3
    assert "par un retour chariot suivi" in first[0].text  # wrapped lines joined
    assert all("\r" not in s.text and s.characters <= 300 for s in doc.sections)
    assert [s.line for s in doc.sections] == [1, 6, 10]


def test_latin1_bytes_decode_as_cp1252() -> None:
    data = "Été\nUn café très léger à Noël.\n".encode("latin-1")
    assert b"\xe9" in data
    text, encoding = decode_bytes(data)
    assert encoding == "cp1252"
    assert text == "Été\nUn café très léger à Noël.\n"


def test_cp1252_undefined_bytes_do_not_fail() -> None:
    text, encoding = decode_bytes(b"Caf\xe9 cr\xe8me \x81ici\x80.")
    assert encoding == "cp1252"
    assert text.startswith("Café crème") and text.endswith("ici€.")


@pytest.mark.parametrize(
    ("bom", "codec", "name"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
    ],
)
def test_byte_order_marks(bom: bytes, codec: str, name: str) -> None:
    source = "Titre\r\nLe cœur du sujet « IA ».\r\n"
    text, encoding = decode_bytes(bom + source.encode(codec))
    assert encoding == name
    assert text == "Titre\nLe cœur du sujet « IA ».\n"
    assert titles(parse_summary(text)) == ["Titre"]


def test_utf16_without_bom_is_recognised() -> None:
    text, encoding = decode_bytes("Titre\nUn texte simple.\n".encode("utf-16-le"))
    assert encoding == "utf-16-le"
    assert text == "Titre\nUn texte simple.\n"


def test_newlines_and_unicode_are_normalized() -> None:
    decomposed = unicodedata.normalize("NFD", "Été\rDéjà vu.\r\nFin.")
    text, _ = decode_bytes(decomposed.encode("utf-8"))
    assert text == "Été\nDéjà vu.\nFin."
    assert (
        parse_summary("\ufeffTitre\r\nTexte.\rSuite.").sections[0].paragraphs[1].line
        == 3
    )


def test_stray_control_characters_become_spaces() -> None:
    text, _ = decode_bytes(b"Titre\nUn texte.\x1a")
    assert text == "Titre\nUn texte. "


# --- bad input -----------------------------------------------------------------


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


BAD_BYTES = {
    "empty": (b"", "empty"),
    "whitespace": (b"  \r\n\t\n   \n", "blank"),
    "png": (png_bytes(), "PNG image"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)), "JPEG"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    "zip": (b"PK\x03\x04\x14\x00\x06\x00word/document.xml", "ZIP"),
    "mp3": (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 8, "MP3"),
    "wav": (b"RIFF\x24\x00\x00\x00WAVEfmt ", "RIFF"),
    "elf": (b"\x7fELF\x02\x01\x01" + b"\x00" * 9, "ELF"),
    "nul": (b"Titre\nUn texte.\x00\x00\x01\x02 binaire\n", "NUL"),
    "controls": (bytes(range(1, 9)) * 20 + b"abc", "binary"),
}


@pytest.mark.parametrize("case", sorted(BAD_BYTES))
def test_bad_bytes_raise_one_line_summary_error(case: str) -> None:
    data, expected = BAD_BYTES[case]
    with pytest.raises(SummaryError) as info:
        decode_bytes(data, path="notes/résumé.txt")
    message = str(info.value)
    assert message.startswith("notes/résumé.txt: ")
    assert expected in message
    assert "\n" not in message
    assert info.value.path == "notes/résumé.txt"
    assert info.value.exit_code == 2


def test_png_renamed_txt_names_the_format(tmp_path: Path) -> None:
    renamed = tmp_path / "summary.txt"
    renamed.write_bytes(png_bytes())
    with pytest.raises(SummaryError, match=r"summary\.txt: this is a PNG image"):
        decode_bytes(renamed.read_bytes(), path=renamed.name)


NOTHING_TO_SAY = {
    "code fence only": "```bash\necho bonjour\n```\n",
    "headings only": "# Titre\n\n## Première partie\n\n## Seconde partie\n",
    "punctuation only": "...\n!!!\n— ; —\n",
    "image only": "![Une image](image.png)\n",
    "markup only": "---\n\n***\n\n<div></div>\n",
    "front matter only": "---\ntitle: Rien\n---\n",
    "title heading only": "# Titre seul\n",
}


@pytest.mark.parametrize("case", sorted(NOTHING_TO_SAY))
def test_nothing_to_say_raises(case: str) -> None:
    with pytest.raises(SummaryError) as info:
        parse_summary(NOTHING_TO_SAY[case], path="vide.md")
    message = str(info.value)
    assert message.startswith("vide.md")
    assert "\n" not in message
    assert "empty" in message or "no text to read aloud" in message


def test_empty_section_names_the_heading_and_line() -> None:
    text = "## Début\n\nDu texte.\n\n## Milieu\n\n```\ncode\n```\n\n## Fin\n\nFin.\n"
    with pytest.raises(SummaryError) as info:
        parse_summary(text, path="doc.md")
    assert str(info.value) == (
        'doc.md, line 5: section "Milieu" is empty; add text or remove the heading.'
    )
    assert info.value.line == 5


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("---\ntitle: Sans fin\n\n## A\n\nTexte.\n", 1, "never closed"),
        ("---\ntitle: Bon\nceci n'est pas une clé\n---\nTexte.\n", 3, "key: value"),
        ("---\ntitle: Un\ntitle: Deux\n---\nTexte.\n", 3, "appears twice"),
        ('---\ntitle: "Pas fermé\n---\nTexte.\n', 2, "double quote"),
        ("---\ntitle: 'Pas fermé\n---\nTexte.\n", 2, "single quote"),
        ("---\ntitle: T\n  indenté: oui\n---\nTexte.\n", 3, "key: value"),
        ("## A\n\nTexte.\n\n```python\nprint(1)\n", 5, "never closed"),
    ],
)
def test_malformed_markup_names_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(SummaryError) as info:
        parse_summary(text, path="doc.md")
    assert str(info.value).startswith(f"doc.md, line {line}: ")
    assert fragment in str(info.value)
    assert info.value.line == line


# --- front matter ----------------------------------------------------------------


def test_front_matter_values() -> None:
    meta = parse_front_matter(
        [
            "# un commentaire",
            'title: "Dit \\"bonjour\\" \\u00e0 tous"  # commentaire',
            "author: 'L''auteur'",
            "episode: 7 # septième",
            "Cover: images/c.png",
            "empty:",
            "langue: fr",
        ]
    )
    assert meta == {
        "title": 'Dit "bonjour" à tous',
        "author": "L'auteur",
        "episode": "7",
        "cover": "images/c.png",
        "empty": "",
        "langue": "fr",
    }


def test_leading_rule_without_keys_is_not_front_matter() -> None:
    doc = parse_summary("---\n\nTitre\n=====\n\nUn texte.\n")
    assert doc.meta == {}
    assert titles(doc) == ["Titre"]


# --- Markdown structure ------------------------------------------------------------


def test_several_h1_are_sections_and_deeper_headings_sentences() -> None:
    text = "# Un\n\nTexte un.\n\n## Détail\n\nPlus.\n\n# Deux\n\nTexte deux.\n"
    doc = parse_summary(text)
    assert doc.title is None
    assert titles(doc) == ["Un", "Deux"]
    assert [p.text for p in doc.sections[0].paragraphs] == [
        "Texte un.",
        "Détail.",
        "Plus.",
    ]


def test_setext_headings_and_intro_before_first_heading() -> None:
    text = (
        "Avant tout propos.\n\nPartie A\n========\n\nTexte A.\n\nPartie B\n---\n\nB.\n"
    )
    doc = parse_summary(text)
    assert titles(doc) == ["Avant tout propos", "Partie A"]
    assert [s.has_heading for s in doc.sections] == [False, True]
    assert doc.sections[1].line == 3
    # setext H1 and H2 both exist, so the shallowest level (H1) makes sections
    assert [p.text for p in doc.sections[1].paragraphs] == [
        "Texte A.",
        "Partie B.",
        "B.",
    ]


def test_single_h1_with_h2_is_the_document_title() -> None:
    doc = parse_summary("# Le titre\n\n## A\n\nTexte.\n\n## B\n\nAutre.\n")
    assert doc.title == "Le titre"
    assert titles(doc) == ["A", "B"]


def test_inline_markdown_stripping() -> None:
    cases = {
        "**gras** et *italique* et ***les deux***": "gras et italique et les deux",
        "__souligné__ et _penché_ mais snake_case_name": (
            "souligné et penché mais snake_case_name"
        ),
        "`a * b` reste": "a * b reste",
        "[lien](https://x.org/a_(b)) et ![img](i.png)": "lien et",
        "voir <https://x.org> ou <moi@x.org>": "voir https://x.org ou moi@x.org",
        "une note[^2] ici": "une note ici",
        "<span class='x'>inner</span> texte<br>suite": "inner texte suite",
        "A&amp;B &eacute;t&eacute; &#233; &lt;b&gt; R&D": "A&B été é <b> R&D",
        "\\*pas d'emphase\\*": "*pas d'emphase*",
        "5 * 3 * 2": "5 * 3 * 2",
        "~~barré~~": "barré",
    }
    for source, expected in cases.items():
        assert strip_inline_markdown(source) == expected, source
    assert strip_inline_markdown("[ref] et [autre]", references=frozenset({"ref"})) == (
        "ref et [autre]"
    )


def test_blockquote_lists_and_hard_wraps() -> None:
    text = (
        "## Liste\n\n"
        "> Une citation\n> sur deux lignes.\n\n"
        "* premier point\n  qui continue\n+ second point\n3) troisième\n"
        "- [x] tâche faite\n"
    )
    doc = parse_summary(text)
    paragraphs = doc.sections[0].paragraphs
    assert [(p.text, p.bullet) for p in paragraphs] == [
        ("Une citation sur deux lignes.", False),
        ("premier point qui continue", True),
        ("second point", True),
        ("troisième", True),
        ("tâche faite", True),
    ]
    assert [p.line for p in paragraphs] == [3, 6, 8, 9, 10]


# --- plain text heuristics -----------------------------------------------------------


def test_plain_blank_line_layout_joins_wrapped_lines() -> None:
    text = (
        "Le contexte\n\n"
        "OpenAI a été fondée en 2015 par un groupe de chercheurs et\n"
        "d'entrepreneurs. Sa mission est ambitieuse et elle est décrite par\n"
        "Sam Altman comme la plus importante de notre époque.\n\n"
        "Un second paragraphe.\n\n"
        "Les perspectives\n\n"
        "La suite reste à écrire.\n"
    )
    doc = parse_summary(text)
    assert titles(doc) == ["Le contexte", "Les perspectives"]
    first = doc.sections[0].paragraphs
    assert len(first) == 2
    assert "chercheurs et d'entrepreneurs." in first[0].text
    assert "décrite par Sam Altman" in first[0].text  # line ends with "par"


def test_plain_short_final_line_stays_in_body() -> None:
    doc = parse_summary("Titre\nUn paragraphe complet.\nMerci à tous\n")
    assert titles(doc) == ["Titre"]
    assert [p.text for p in doc.sections[0].paragraphs] == [
        "Un paragraphe complet.",
        "Merci à tous",
    ]


def test_plain_short_line_followed_by_body_is_a_heading() -> None:
    text = "Début\nUn texte.\nSuite du propos\nEncore du texte.\n"
    assert titles(parse_summary(text)) == ["Début", "Suite du propos"]


def test_plain_lines_that_are_not_headings() -> None:
    text = (
        "Titre\n"
        "Une phrase qui continue\n"
        "sur la ligne suivante.\n"  # lower-case start: a wrapped line
        "Les points suivants :\n"  # ends with ':'
        "- Premier\n"
        "- Second\n"
        "Est-ce une question ?\n"
        "Oui.\n"
    )
    doc = parse_summary(text)
    assert titles(doc) == ["Titre"]
    texts = [p.text for p in doc.sections[0].paragraphs]
    assert texts[0] == "Une phrase qui continue sur la ligne suivante."
    assert "Est-ce une question ?" in texts


def test_plain_numbered_list_is_not_a_run_of_headings() -> None:
    text = "Étapes\n1. Préparer\n2. Écrire\n3. Relire\nFin du document.\n"
    doc = parse_summary(text)
    assert titles(doc) == ["Étapes"]
    assert [(p.text, p.bullet) for p in doc.sections[0].paragraphs] == [
        ("1. Préparer", True),
        ("2. Écrire", True),
        ("3. Relire", True),
        ("Fin du document.", False),
    ]


def test_plain_document_title_line_above_first_heading() -> None:
    doc = parse_summary("Mon grand résumé\n\nPremière partie\n\nDu texte ici.\n")
    assert doc.title == "Mon grand résumé"
    assert titles(doc) == ["Première partie"]


def test_document_without_headings_is_one_section_named_by_its_first_words() -> None:
    text = "Ceci est un texte sans titre. Il n'a qu'un paragraphe.\n"
    doc = parse_summary(text)
    assert titles(doc) == ["Ceci est un texte sans titre…"]
    assert not doc.sections[0].has_heading
    assert doc.title is None  # no title of its own: the caller decides
    # The front matter title names the episode, not the section: it is not
    # a heading of the text, so it is not spoken before it.
    fm = parse_summary("---\ntitle: Depuis l'en-tête\n---\n" + text)
    assert fm.title == "Depuis l'en-tête"
    assert titles(fm) == ["Ceci est un texte sans titre…"]
    assert not fm.sections[0].has_heading


def test_plain_bold_line_is_a_heading_without_asterisks() -> None:
    doc = parse_summary("**Le contexte**\nUn texte.\n**La suite**\nAutre texte.\n")
    assert titles(doc) == ["Le contexte", "La suite"]


# --- properties -----------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzéèêàçôœ"
# Content words only: a line ending with "de" or "la" is never a heading.
_VOCABULARY = [
    "intelligence",
    "artificielle",
    "calcul",
    "puissance",
    "données",
    "modèle",
    "entreprise",
    "avenir",
    "société",
    "travail",
    "recherche",
    "sécurité",
    "énergie",
    "réseau",
    "utilisateurs",
    "croissance",
    "créateurs",
    "contenu",
    "économie",
    "monde",
    "technologie",
    "question",
    "réponse",
    "projet",
    "équipe",
    "open",
    "chatgpt",
    "microsoft",
    "altman",
    "œuvre",
    "cœur",
    "élève",
    "été",
    "déjà",
    "très",
    "rapide",
    "nouveau",
    "grand",
    "petit",
    "important",
    "mondial",
    "européen",
    "français",
    "ressources",
    "serveurs",
    "puces",
    "lancement",
    "succès",
    "défi",
    "risque",
    "règles",
    "confiance",
    "histoire",
    "générations",
    "web",
    "cinq",
    "vingt",
    "première",
    "dernière",
    "idée",
    "vision",
    "structure",
]
# No digits here: a wrapped line that goes on with "2024." could as well be a
# heading over a one-word paragraph, and no rule can tell those apart.
_word = st.sampled_from(_VOCABULARY)
_title = st.lists(_word, min_size=1, max_size=6).map(
    lambda ws: " ".join([ws[0].capitalize(), *ws[1:]])
)
_sentence = st.lists(_word, min_size=3, max_size=16).map(
    lambda ws: " ".join([ws[0].capitalize(), *ws[1:]]) + "."
)
_paragraph = st.lists(_sentence, min_size=1, max_size=4).map(" ".join)
_section = st.tuples(
    _title,
    st.lists(st.tuples(st.booleans(), _paragraph), min_size=1, max_size=4),
)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for token in text.split(" "):
        if current and len(current) + 1 + len(token) > width:
            lines.append(current)
            current = token
        else:
            current = f"{current} {token}" if current else token
    lines.append(current)
    return lines


@settings(max_examples=150, deadline=None)
@given(
    sections=st.lists(_section, min_size=1, max_size=6),
    blank_layout=st.booleans(),
    width=st.integers(min_value=30, max_value=90),
)
def test_plain_text_loses_no_word_and_finds_every_heading(
    sections: list[tuple[str, list[tuple[bool, str]]]], blank_layout: bool, width: int
) -> None:
    lines: list[str] = []
    for title, paragraphs in sections:
        lines.append(title)
        if blank_layout:
            lines.append("")
        for bullet, paragraph in paragraphs:
            if bullet:
                lines.append(f"- {paragraph}")
            elif blank_layout:
                lines.extend(_wrap(paragraph, width))
            else:
                lines.append(paragraph)
            if blank_layout:
                lines.append("")
    text = "\n".join(lines)
    doc = parse_summary(text)
    assert titles(doc) == [title for title, _ in sections]
    assert words_out(doc) == words(text)
    for section, (_, paragraphs) in zip(doc.sections, sections, strict=True):
        assert words(section.text) == words(" ".join(p for _, p in paragraphs))
        # Two one-line paragraphs and one wrapped paragraph may look alike, so
        # only bullets (always one line each) are compared one by one.
        assert [p.text for p in section.paragraphs if p.bullet] == [
            p for bullet, p in paragraphs if bullet
        ]


@settings(max_examples=300, deadline=None)
@given(st.text(_LETTERS + "ABCÉÀ0123456789 \n\n\n.,;:!?'’«»()", max_size=400))
def test_arbitrary_plain_text_loses_no_word(text: str) -> None:
    try:
        doc = parse_summary(text)
    except SummaryError:
        assert not WORD.search(text)
        return
    assert words_out(doc) == words(text)
    for section in doc.sections:
        if not section.has_heading:  # named by its own first words, nothing else
            assert section.title == first_words(section.text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_raises_summary_error(text: str) -> None:
    try:
        doc = parse_summary(text, path="x.md")
    except SummaryError as exc:
        assert str(exc).startswith("x.md")
        assert "\n" not in str(exc)
        return
    assert doc.sections
    assert all(s.paragraphs and s.title for s in doc.sections)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_summary_error(data: bytes) -> None:
    try:
        text, encoding = decode_bytes(data, path="x.txt")
    except SummaryError as exc:
        assert str(exc).startswith("x.txt: ")
        return
    assert encoding and "\r" not in text and text.strip()


def test_front_matter_over_plain_text_headings() -> None:
    text = (
        "---\ntitle: Épisode\n---\n"
        "Le contexte\nUn premier texte.\n"
        "La suite\nUn second texte.\n"
    )
    doc = parse_summary(text)
    assert doc.title == "Épisode"
    assert titles(doc) == ["Le contexte", "La suite"]
    assert [s.line for s in doc.sections] == [4, 6]


# --- sections without a heading: named by their own words, never the file --------


def test_one_line_without_final_punctuation_is_text_not_a_heading() -> None:
    doc, _ = load("09_titre_sans_texte.txt")
    assert doc.title is None
    assert [(s.title, s.has_heading, s.text) for s in doc.sections] == [
        ("Le marché du travail en mutation", False, "Le marché du travail en mutation")
    ]


def test_plain_text_without_heading_is_named_by_its_first_six_words() -> None:
    doc, _ = load("notes_v2_final.txt")
    assert doc.title is None
    assert titles(doc) == ["Le télétravail a gagné du terrain…"]
    assert not doc.sections[0].has_heading
    section = doc.sections[0]
    # The made-up title is not spoken, so it is not counted either.
    assert section.characters == sum(len(p.text) for p in section.paragraphs)


def test_markdown_text_before_the_first_heading_has_no_heading() -> None:
    doc, _ = load("notes_v2_final.md")
    assert titles(doc) == [
        "Quelques mots avant la première partie…",
        "Le contexte",
        "La suite",
    ]
    assert [s.has_heading for s in doc.sections] == [False, True, True]
    assert doc.title is None  # "##" headings: none names the document


def test_document_of_emoji_and_keycaps_has_nothing_to_read() -> None:
    with pytest.raises(SummaryError) as caught:
        load("emoji_et_touches.txt")
    message = str(caught.value)
    assert message.startswith("emoji_et_touches.txt: ")
    assert "emoji" in message and "write the summary" in message


def test_emoji_lines_are_dropped_and_keycaps_do_not_make_a_heading_speakable() -> None:
    doc = parse_summary("🎉 1️⃣ ✨\n\nUn vrai texte ici. Et une suite.\n")
    assert [(s.title, s.text) for s in doc.sections] == [
        ("Un vrai texte ici. Et une…", "Un vrai texte ici. Et une suite.")
    ]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Un deux trois quatre cinq six", "Un deux trois quatre cinq six"),
        ("Un deux trois quatre cinq six sept", "Un deux trois quatre cinq six…"),
        ("Fin.", "Fin"),
        ("Pourquoi pas ?", "Pourquoi pas ?"),
        (
            "Un, deux, trois, quatre, cinq, six, sept.",
            "Un, deux, trois, quatre, cinq, six…",
        ),
        ("  Des   espaces\n en trop  ", "Des espaces en trop"),
    ],
)
def test_first_words(text: str, title: str) -> None:
    assert first_words(text) == title


def test_a_single_heading_opening_the_document_names_it() -> None:
    doc = parse_summary("# Le marché\n\nDu texte. Encore.\n")
    assert doc.title == "Le marché"
    assert [(s.title, s.has_heading) for s in doc.sections] == [("Le marché", True)]
    plain = parse_summary("Le marché\nDu texte. Encore.\n")
    assert plain.title == "Le marché"
    # A "##" heading, or a heading after some text, does not name the document.
    assert parse_summary("## Le marché\n\nDu texte.\n").title is None
    assert parse_summary("Avant.\n\n# Le marché\n\nDu texte.\n").title is None
