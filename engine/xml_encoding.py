"""The bytes of a BPMN document as UTF-8: what its byte-order mark or XML declaration says it is in.

Editors save BPMN as UTF-8 (Camunda Modeler, bpmn.io), UTF-16 (some Windows tools, with or without a
byte-order mark) or a local encoding such as GBK; the engine parses, stores and serves UTF-8 only.
``utf8_document`` converts, and raises ``EncodingError`` (a line, or None, and what to do) when the
bytes are not in the encoding they claim; ``engine.bpmn`` turns that into a located deploy problem.
"""
from __future__ import annotations

import re
from typing import Optional


class EncodingError(ValueError):
    """The document's bytes do not match their encoding; ``message`` says how to save the file."""

    def __init__(self, line: Optional[int], message: str):
        super().__init__(message)
        self.line, self.message = line, message


_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"<\x00\x00\x00", "utf-32-le"),
         (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"))  # '<' first: no BOM


def utf8_document(content: bytes) -> bytes:
    """The document in UTF-8 with an XML declaration saying so (a UTF-16 or GBK file as saved by an
    editor is stored and served as UTF-8). Raises ``EncodingError`` about the encoding if the bytes
    are not in the encoding their byte-order mark or XML declaration names."""
    codec = next((c for bom, c in _BOMS if content.startswith(bom)), None)
    declared = _XML_ENCODING.match(content)
    if codec is None and declared is None:
        codec = "utf-8"
    elif codec is None:
        codec = declared.group(1).decode("ascii").lower()
        if codec.replace("-", "").startswith(("utf16", "utf32", "ucs")):
            raise EncodingError(1, f"The XML declaration says encoding=\"{declared.group(1).decode()}\" "
                                "but the file is not in that encoding (it has no byte-order mark and its "
                                "declaration is one byte per character). Save the file as UTF-8 (or change the "
                                "declaration to encoding=\"UTF-8\") and deploy again.")
    if codec == "utf-8" and b"\x00" in content:  # XML has no NUL character
        raise EncodingError(None, "The file contains NUL bytes: it is probably UTF-16 or UTF-32 without a "
                            "byte-order mark. Save it as UTF-8 (or as UTF-16 with a byte-order mark) and deploy "
                            "again.")
    try:
        text = content.decode(codec)
    except LookupError:
        raise EncodingError(1, f"Unknown encoding '{codec}' in the XML declaration: save the file as "
                            "UTF-8 with encoding=\"UTF-8\" and deploy again.") from None
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1 if not codec.startswith("utf-16") else None
        raise EncodingError(line, f"The file is not valid {codec.upper()} (byte {exc.start}: {exc.reason}). "
                            "Save it as UTF-8 (Camunda Modeler and bpmn.io do) and deploy again.") from None
    text = text.lstrip("\ufeff")
    if codec in ("utf-8", "utf-8-sig") and not content.startswith(b"\xef\xbb\xbf"):
        return content
    text = re.sub(r"""^(<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""", r"\1\2UTF-8\2", text, count=1)
    return text.encode("utf-8")
