"""Every kind of French written form of issue 22, read as standard French reads it.

tests/data/speech/kinds.tsv holds, per kind (dates, day ranges, decades,
numbers, fractions, units, currencies, superscript letters, whole sentences),
written forms and their readings, written by hand from French usage before
the rules. Each line is one case; the inputs of bad-input size are checked too
(without timing: the speed is measured in scripts/bench_bad_input.py).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest

from narrator.speech.normalize import normalize
from narrator.speech.rules.currency_names import CURRENCY_SYMBOLS

KINDS = Path(__file__).resolve().parent / "data" / "speech" / "kinds.tsv"


def _cases() -> list[tuple[str, str, str]]:
    rows = []
    for line in KINDS.read_text("utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        kind, written, spoken = line.split("\t")
        rows.append((kind, written, spoken))
    return rows


CASES = _cases()


def test_the_set_covers_every_kind_many_times() -> None:
    kinds = {kind for kind, _, _ in CASES}
    assert {"date", "dayrange", "decade", "number", "fraction", "unit"} <= kinds
    assert {"currency", "superscript", "sentence"} <= kinds
    assert len(CASES) >= 200


@pytest.mark.parametrize(("kind", "written", "spoken"), CASES)
def test_kind(kind: str, written: str, spoken: str) -> None:
    assert normalize(written, engine="espeak") == spoken, kind


def test_every_currency_symbol_has_a_french_name() -> None:
    symbols = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Sc"
    ]
    assert len(symbols) > 50
    for symbol in symbols:
        assert symbol in CURRENCY_SYMBOLS, hex(ord(symbol))
        for text in (f"3 {symbol}", f"{symbol} 3", f"le {symbol}", symbol):
            spoken = normalize(text)
            assert re.fullmatch(r"[\w' -]+", spoken), (symbol, text, spoken)
            assert spoken not in ("", "trois", "le"), (symbol, text)


def test_superscript_letters_fold_to_plain_letters() -> None:
    letters = "".join(
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.decomposition(chr(c)).startswith(("<super>", "<sub>"))
        and unicodedata.category(chr(c)).startswith("L")
    )
    spoken = normalize(f"Voici {letters} ici.")
    assert spoken.startswith("Voici ") and spoken.endswith(" ici.")
    for char in letters:
        base = chr(int(unicodedata.decomposition(char).split()[1], 16))
        if base.isascii() and base.islower() and char != "º":  # "nº": a sign
            assert normalize(f"vo{char}ci") == f"vo{base}ci", hex(ord(char))


# --- bad input: big, but read without error ---------------------------------


def test_a_ten_thousand_digit_number_is_read_digit_group_by_group() -> None:
    spoken = normalize("Le nombre " + "7" * 10_000 + " est long.")
    assert spoken.startswith("Le nombre sept sept")
    assert not re.search(r"\d", spoken)


def test_a_five_thousand_character_chain_of_units_is_read() -> None:
    chain = ("3 km²/h/m³/µg/kWh/" * 300)[:5000]
    spoken = normalize(chain)
    assert not re.search(r"\d", spoken)


def test_two_thousand_fractions_in_a_row_are_read() -> None:
    spoken = normalize(" ".join(f"{i % 9 + 1}/{i % 97 + 2}" for i in range(2000)))
    assert not re.search(r"\d", spoken)


def test_a_line_of_superscript_letters_is_read() -> None:
    line = "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ" * 200
    assert isinstance(normalize(line), str)
    assert isinstance(normalize("1" + line + "2ᵈᵉ 1ᵉʳ Mˡˡᵉ" * 100), str)
