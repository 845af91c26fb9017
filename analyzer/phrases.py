"""How grant text and taxonomy phrases are normalised so that they meet on word boundaries.

Text and phrases are both lower-cased and every run of characters that are not letters or
digits becomes one space; the text is then padded with a space on each side and each phrase
is searched as `` phrase ``. A plain substring search (Aho-Corasick) on that form finds whole
words only ("city" never matches inside "capacity"), finds every overlapping phrase ("mental
health court" and "mental health"), and runs in linear time whatever the taxonomy says.

The polars expression (used on every row) and the Python function (used on phrases and on one
grant in ``explain``) must agree; ``tests/test_classify.py`` checks that they do.
"""

from __future__ import annotations

import polars as pl

#: A run of two or more non-word characters (spaces included), or one non-space non-word
#: character. Single spaces, by far the most common separator, are left alone: rewriting them
#: costs four times as much for the same result.
_NON_WORD_RUN = r"[^\p{L}\p{N}]{2,}|[^\p{L}\p{N} ]"

#: Irregular plurals of the last word of a phrase (regular ones are derived).
IRREGULAR_PLURALS = {
    "child": "children",
    "person": "people",
    "man": "men",
    "woman": "women",
    "life": "lives",
    "wife": "wives",
}


def normalize_expr(column: pl.Expr) -> pl.Expr:
    """Lower-case, non-word runs to one space, padded: the form phrases are searched in."""
    cleaned = column.str.to_lowercase().str.replace_all(_NON_WORD_RUN, " ")
    return pl.lit(" ") + cleaned.fill_null("") + pl.lit(" ")


def normalize_text(text: str | None) -> str:
    """Python twin of :func:`normalize_expr` without the padding (for phrases and one grant)."""
    if not text:
        return ""
    cleaned = "".join(ch if ch.isalnum() else " " for ch in text.lower())
    return " ".join(cleaned.split())


def normalized_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised, padded text and, for each of its characters, the index in ``text``.

    Padding spaces and collapsed separators map to the position of the separator they stand
    for, so a phrase found in the normalised text can be highlighted in the original.
    """
    chars: list[str] = [" "]
    offsets: list[int] = [0]
    for index, ch in enumerate(text):
        for lowered in ch.lower():
            if lowered.isalnum():
                chars.append(lowered)
                offsets.append(index)
            elif chars[-1] != " ":
                chars.append(" ")
                offsets.append(index)
    if chars[-1] != " ":
        chars.append(" ")
        offsets.append(len(text))
    return "".join(chars), offsets


def plural_forms(word: str) -> list[str]:
    """Plural and simple variants of one word (English, regular rules plus a few irregulars)."""
    if len(word) < 2 or word.isdigit():
        return []
    if word in IRREGULAR_PLURALS:
        return [IRREGULAR_PLURALS[word]]
    if word.endswith("y") and word[-2] not in "aeiou":
        return [word[:-1] + "ies"]
    if word.endswith(("ss", "x", "z", "ch", "sh")):
        return [word + "es"]
    if word.endswith("s"):
        return []  # written in the plural already ("services"): nothing to add
    return [word + "s"]


def phrase_variants(phrase: str) -> list[str]:
    """Every normalised form a written phrase matches, the phrase itself first.

    The last word also matches its plurals; a possessive ("children's" -> "children s") also
    matches the form written without the apostrophe ("childrens").
    """
    base = normalize_text(phrase)
    if not base:
        return []
    forms = [base]
    joined = base.replace(" s ", "s ")
    if joined.endswith(" s"):
        joined = joined[:-2] + "s"
    if joined != base:
        forms.append(joined)
    variants: list[str] = []
    for form in forms:
        head, _, last = form.rpartition(" ")
        variants.append(form)
        for plural in plural_forms(last):
            variants.append(f"{head} {plural}" if head else plural)
    return list(dict.fromkeys(variants))


def pad(phrase: str) -> str:
    """The searched form of a normalised phrase."""
    return f" {phrase} "
