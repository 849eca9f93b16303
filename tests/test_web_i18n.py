"""Every message of the web pages has its Chinese translation, compiled into the committed .mo file."""
from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "webui" / "translations"


def extracted() -> set[str]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_is_translated_to_chinese_in_the_compiled_catalog():
    messages = extracted()
    assert len(messages) > 200
    with open(TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.mo", "rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    missing = sorted(m for m in messages if catalog.gettext(m) == m)
    assert not missing, f"add these to webui/translations/zh and run pybabel compile: {missing}"
    assert (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo").exists()
