"""The one way an email address is normalised, and how a look-alike of another address is recognised."""

import unicodedata

from confusable_homoglyphs import confusables
from email_validator import EmailNotValidError, validate_email


def normalise_email(raw: str) -> str:
    """The form every address is stored and compared in, whoever typed it and wherever.

    Trimmed; the local part in Unicode NFC and lower-cased (no mail provider in use tells case apart);
    the domain through IDNA (UTS 46), so `xn--` forms, full-width letters and upper case all become one
    Unicode domain. Raises ValueError for anything that is not an address.
    """
    try:
        normalized = validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address: {error}") from None
    except UnicodeError:  # lone surrogates and other text no address can hold
        raise ValueError("not a valid email address: it holds characters that are not text") from None
    local, _, domain = normalized.rpartition("@")
    return f"{local.lower()}@{domain}"


def email_skeleton(email: str) -> str:
    """What an address looks like: equal for `admin@…`, `\u0430dmin@…` (Cyrillic a) and `\uff41dmin@…` (full-width).

    Compatibility forms folded (NFKC), case folded, and every character that imitates a Latin or common
    one (Unicode's confusables list, TR39) replaced by the one it imitates.
    """
    folded = unicodedata.normalize("NFKC", email).casefold()
    found = confusables.is_confusable(folded, greedy=True, preferred_aliases=["latin", "common"]) or []
    imitated = {}
    for entry in found:
        glyphs = [glyph["c"] for glyph in entry["homoglyphs"]]
        imitated[entry["character"]] = next((glyph for glyph in glyphs if glyph.isascii()), glyphs[0])
    return "".join(imitated.get(character, character) for character in folded)
