"""Literals for generated code, each with the target language's own escaping.

Every value that comes from a catalogue, an item or a request reaches generated code only
through these functions (never through comments or string formatting of code), so a hostile
id, title or path can not end a string and run code of its own.
"""

from __future__ import annotations

import json
import math
from itertools import groupby
from typing import Any

from ..errors import BadRequest


def _check_text(value: str, language: str) -> None:
    """Refuse what the language's strings cannot hold (a 400 sentence, never a changed value).

    R and bash strings are C strings: a NUL would end them, and dropping or replacing it
    would make the code ask for another id or path than the item's. Lone UTF-16 surrogates
    (possible in JSON) have no UTF-8 form. Python strings hold both, so ``py`` accepts them.
    """
    if "\x00" in value:
        raise BadRequest(f"A value holds a NUL character, which {language} strings cannot carry.")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise BadRequest(
            f"A value holds a lone UTF-16 surrogate, which {language} strings cannot carry."
        )


def _check_number(value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest("A number in the request is not finite.")


# --- Python -------------------------------------------------------------------------------


def py(value: Any) -> str:
    """A Python literal (str, int, float, bool, None, list, tuple, dict) of ``value``."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        # repr escapes every non-printable character (controls, NUL, bidi and format
        # characters, line separators, surrogates) and keeps printable ones as they are.
        return repr(value)
    if isinstance(value, (int, float)):
        _check_number(value)
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(str(k))}: {py(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Python literal for {type(value).__name__}")


# --- R ------------------------------------------------------------------------------------

_R_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def r_str(value: str) -> str:
    """An R string literal: ASCII only, quotes/backslashes/controls/non-ASCII escaped.

    Every other character that is not printable ASCII is written as a Unicode escape
    (``\\u{...}``, ``\\U{...}``), controls included: R refuses a literal that mixes Unicode
    escapes with hex or octal ones (``\\x01``), so those are never written.
    """
    _check_text(value, "R")
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in _R_ESCAPES:
            out.append(_R_ESCAPES[ch])
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{{{code:04x}}}")
        else:
            out.append(f"\\U{{{code:08x}}}")
    out.append('"')
    return "".join(out)


def r(value: Any) -> str:
    """An R literal: scalars as R scalars, lists as ``list(...)`` (names quoted)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return r_str(value)
    if isinstance(value, int):
        return f"{value}" if abs(value) < 2**31 else repr(float(value))
    if isinstance(value, float):
        _check_number(value)
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "list(" + ", ".join(r(v) for v in value) + ")"
    if isinstance(value, dict):
        return "list(" + ", ".join(f"{r_backtick(str(k))} = {r(v)}" for k, v in value.items()) + ")"
    raise TypeError(f"no R literal for {type(value).__name__}")


def r_chr(values: list[str]) -> str:
    """An R character vector."""
    return "character(0)" if not values else "c(" + ", ".join(r_str(v) for v in values) + ")"


def r_backtick(name: str) -> str:
    """A name for ``list(name = ...)``: quoted as a string, which R accepts there."""
    return r_str(name)


# --- POSIX shell (bash) -------------------------------------------------------------------


def sh(value: Any) -> str:
    """A shell word for bash; non-strings are written as JSON first.

    Printable text (and newlines) goes in single quotes. Runs of other characters (controls,
    bidi and format characters, line separators) go in ANSI-C quotes as their UTF-8 bytes
    (``$'\\xe2\\x80\\xae'``), so the cell shows no invisible or reordering character and a
    terminal (a bash kernel's pty) receives none; bash joins the adjacent quoted parts.
    """
    if not isinstance(value, str):
        value = json_text(value)
    _check_text(value, "shell")
    parts = []
    for safe, chars in groupby(value, key=lambda ch: ch == "\n" or ch.isprintable()):
        run = "".join(chars)
        if safe:
            parts.append("'" + run.replace("'", "'\"'\"'") + "'")
        else:
            parts.append("$'" + "".join(f"\\x{b:02x}" for b in run.encode("utf-8")) + "'")
    return "".join(parts) or "''"


def json_text(value: Any) -> str:
    """Compact JSON (UTF-8 kept) for a value embedded as a string in generated code."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise BadRequest("A number in the request is not finite.") from None
