import sys
import unicodedata

from contacts.source_fields import first_forbidden_character


def test_the_refused_characters_are_exactly_the_control_characters_and_lone_surrogates():
    refused = {cp for cp in range(sys.maxunicode + 1) if first_forbidden_character(chr(cp))}
    by_category = {
        cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) in {"Cc", "Cs"}
    }
    assert refused == by_category


def test_the_first_refused_character_is_named():
    assert first_forbidden_character("Anna\u0085 Jansen\x00") == "\u0085"
    assert first_forbidden_character("Chloé 🙂") is None
