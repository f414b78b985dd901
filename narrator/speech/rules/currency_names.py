"""Every currency symbol (Unicode category Sc) and the common ISO codes, with
their French names: "₹" -> "roupie indienne", "₩" -> "won", "₿" -> "bitcoin".

Data only (a leaf, like ``tables.py``): an amount with its currency is read
by ``measures.money``, a symbol standing alone ("en €", "le ₿") by
``currencies.lone_symbols``, so that no currency is ever dropped. Names
follow the usual French forms (Banque de France, Office des publications de
l'UE); a currency without a French name of its own keeps its native one,
made plural with an "s".
"""

from __future__ import annotations

import re

Currency = tuple[str, str, bool, str]  # singular, plural, feminine, cents word


def _c(
    singular: str, plural: str = "", feminine: bool = False, cents: str = ""
) -> Currency:
    if not plural:
        plural = " ".join(w + "s" for w in singular.split(" ", 1)[:1])
        plural += singular[len(singular.split(" ", 1)[0]) :]
    return singular, plural, feminine, cents


_EURO = _c("euro", cents="centimes")
_DOLLAR = _c("dollar", cents="cents")
_POUND = _c("livre", feminine=True, cents="pence")
_YEN = _c("yen")
_RUPEE = _c("roupie", feminine=True)
_RIAL = _c("rial")
_CENT = _c("cent")

# Every character of category Sc in Unicode 15, and what French calls it.
CURRENCY_SYMBOLS: dict[str, Currency] = {
    "$": _DOLLAR,
    "¢": _CENT,
    "£": _POUND,
    "¤": _c("unité monétaire", "unités monétaires", True),
    "¥": _YEN,
    "֏": _c("dram"),
    "؋": _c("afghani"),
    "߾": _c("dorome"),
    "߿": _c("taman"),
    "৲": _RUPEE,
    "৳": _c("taka"),
    "৻": _c("ganda"),
    "૱": _RUPEE,
    "௹": _RUPEE,
    "฿": _c("baht"),
    "៛": _c("riel"),
    "₠": _c("écu"),
    "₡": _c("colón"),
    "₢": _c("cruzeiro"),
    "₣": _c("franc", cents="centimes"),
    "₤": _c("lire", feminine=True),
    "₥": _c("mill"),
    "₦": _c("naira"),
    "₧": _c("peseta", feminine=True),
    "₨": _RUPEE,
    "₩": _c("won"),
    "₪": _c("shekel"),
    "₫": _c("dong"),
    "€": _EURO,
    "₭": _c("kip"),
    "₮": _c("tugrik"),
    "₯": _c("drachme", feminine=True),
    "₰": _c("pfennig"),
    "₱": _c("peso philippin", "pesos philippins"),
    "₲": _c("guarani"),
    "₳": _c("austral"),
    "₴": _c("hryvnia", feminine=True),
    "₵": _c("cedi"),
    "₶": _c("livre tournois", "livres tournois", True),
    "₷": _c("spesmilo"),
    "₸": _c("tenge"),
    "₹": _c("roupie indienne", "roupies indiennes", True),
    "₺": _c("livre turque", "livres turques", True),
    "₻": _c("mark nordique", "marks nordiques"),
    "₼": _c("manat"),
    "₽": _c("rouble", cents="kopecks"),
    "₾": _c("lari"),
    "₿": _c("bitcoin"),
    "⃀": _c("som"),
    "꠸": _RUPEE,
    "﷼": _RIAL,
    "﹩": _DOLLAR,
    "＄": _DOLLAR,
    "￠": _CENT,
    "￡": _POUND,
    "￥": _YEN,
    "￦": _c("won"),
    "𑿝": _c("kaacu"),
    "𑿞": _c("panam"),
    "𑿟": _c("pon"),
    "𑿠": _c("varaakan"),
    "𞋿": _c("ngun"),
    "𞲰": _RUPEE,
}

# Written forms of more than one character, and ISO 4217 codes.
CURRENCY_WORDS: dict[str, Currency] = {
    "CN¥": _c("yuan"),
    "元": _c("yuan"),
    "円": _YEN,
    "US$": _DOLLAR,
    "C$": _c("dollar canadien", "dollars canadiens", cents="cents"),
    "A$": _c("dollar australien", "dollars australiens", cents="cents"),
    "$US": _DOLLAR,
    "$CA": _c("dollar canadien", "dollars canadiens", cents="cents"),
    "$AU": _c("dollar australien", "dollars australiens", cents="cents"),
    "HK$": _c("dollar de Hong Kong", "dollars de Hong Kong", cents="cents"),
    "NZ$": _c("dollar néo-zélandais", "dollars néo-zélandais", cents="cents"),
    "S$": _c("dollar de Singapour", "dollars de Singapour", cents="cents"),
    "R$": _c("réal", "réaux"),
    "FCFA": _c("franc CFA", "francs CFA"),
    "EUR": _EURO,
    "USD": _DOLLAR,
    "GBP": _POUND,
    "CHF": _c("franc suisse", "francs suisses", cents="centimes"),
    "JPY": _YEN,
    "CNY": _c("yuan"),
    "INR": _c("roupie indienne", "roupies indiennes", True),
    "RUB": _c("rouble"),
    "TRY": _c("livre turque", "livres turques", True),
    "ILS": _c("shekel"),
    "KRW": _c("won"),
    "BTC": _c("bitcoin"),
    "CAD": _c("dollar canadien", "dollars canadiens", cents="cents"),
    "AUD": _c("dollar australien", "dollars australiens", cents="cents"),
    "XOF": _c("franc CFA", "francs CFA"),
    "XAF": _c("franc CFA", "francs CFA"),
    "MAD": _c("dirham"),
    "DZD": _c("dinar algérien", "dinars algériens"),
    "TND": _c("dinar tunisien", "dinars tunisiens"),
    "BRL": _c("réal", "réaux"),
    "MXN": _c("peso mexicain", "pesos mexicains"),
    "SEK": _c("couronne suédoise", "couronnes suédoises", True),
    "NOK": _c("couronne norvégienne", "couronnes norvégiennes", True),
    "DKK": _c("couronne danoise", "couronnes danoises", True),
}

ALL_CURRENCIES: dict[str, Currency] = {**CURRENCY_WORDS, **CURRENCY_SYMBOLS}
# Symbols a scale may precede ("3 M$") and that may stand before an amount.
SYMBOL_CLASS = "".join(re.escape(s) for s in CURRENCY_SYMBOLS)
PREFIX_WORDS = ("CN¥", "US$", "C$", "A$", "HK$", "NZ$", "S$", "R$")
