"""``snippets/quoting.py`` over every kind of code point, EXECUTED: each hostile string is
quoted for R, Python and bash, run in a real IR kernel, a Python interpreter and bash, and the
value the language holds is compared code point by code point with the Python original.

The table: every C0 control, DEL, every C1 control, controls mixed with accents, emoji and a
right-to-left override (R refused such a literal: ``\\x01`` next to ``\\u{e9}``), bidi and
format characters, line separators, BMP edges and non-characters, astral code points, quotes,
backslashes and text that looks like escapes or shell/R/Python code. NUL and lone surrogates:
Python carries them; R and bash strings cannot, so quoting refuses them with a sentence (a 400)
rather than silently changing an id or a path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from eo_jlab.errors import BadRequest
from eo_jlab.snippets.quoting import py, r_str, sh

from .kernels import UTF8, Kernel, has_kernel

pytestmark = pytest.mark.timeout(300)

CONTROLS = [chr(c) for c in [*range(1, 0x20), 0x7F, *range(0x80, 0xA0)]]
BIDI = ["\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
HOSTILE = [
    *CONTROLS,
    *BIDI,
    "".join(CONTROLS),
    "title \x01 with é",  # the reported cell: a control next to an accent
    "é\x07\u202eevil\u202c 😀 \x1b[31mred\x1b[0m \r\n\t\v\f end",
    "\u2028\u2029\u0085\u00a0\u200b\ufeff\u00ad",
    "\ud7ff\ue000\ufffd\ufffe\uffff",
    "\U00010000 \U0001f600 \U0001f1eb\U0001f1f7 \U0010ffff \U000e0001",
    "\"'\\ \\\\ \\\" \\' '''\"\"\" ` $ $( ${x} %s {x} {{x}}",
    "\\x01\\u{e9}\\U{0001f600}\\u00e9\\n\\0 \\",
    '"); system("touch pwned"); ("',
    "'; touch pwned; echo '",
    "Ünïcödé ÅÆØ ąčęėįšųūž 中文 日本語 한국어 עברית العربية हिन्दी",
    "x" * 300 + "\x01é" * 300,
    "",
]


def _points(values: list[str]) -> list[list[int]]:
    return [[ord(ch) for ch in value] for value in values]


@pytest.fixture(scope="module")
def r_kernel(tmp_path_factory):
    if not has_kernel("ir"):
        pytest.fail("the IR kernel is not installed: run `make .make/kernels`")
    kernel = Kernel("ir", tmp_path_factory.mktemp("r-quoting"))
    yield kernel
    kernel.stop()


def test_r_evaluates_every_string_back(r_kernel):
    failures = []
    for value in HOSTILE:
        run = r_kernel.run(f"x <- {r_str(value)}\ncat(utf8ToInt(x), sep = ',')")
        got = [int(p) for p in run.stdout.split(",") if p] if run.error is None else run.error
        if got != [ord(ch) for ch in value]:
            failures.append((value, r_str(value), got))
    assert not failures, failures


def test_python_evaluates_every_string_back():
    values = [*HOSTILE, "\x00", "a\x00b\ud800\udfff"]
    script = "import json\nvalues = [\n" + "".join(f"    {py(v)},\n" for v in values)
    script += "]\nprint(json.dumps([[ord(ch) for ch in v] for v in values]))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == _points(values)


def test_bash_evaluates_every_string_back(tmp_path):
    script = "".join(f"printf '%s\\0' {sh(v)}\n" for v in HOSTILE)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        env={**os.environ, **UTF8},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode("utf-8").split("\0")[:-1] == HOSTILE
    assert not (tmp_path / "pwned").exists()


def test_bash_words_show_no_invisible_character():
    for value in HOSTILE:
        word = sh(value)
        assert all(ch == "\n" or ch.isprintable() for ch in word), (value, word)


@pytest.mark.parametrize("quote", [r_str, sh])
@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x\udfff"])
def test_r_and_bash_refuse_what_their_strings_cannot_hold(quote, value):
    with pytest.raises(BadRequest) as caught:
        quote(value)
    assert "cannot carry" in str(caught.value)
