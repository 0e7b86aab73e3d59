"""nbval plugin: compare the numbers in notebook outputs to 10 significant digits.

``tests/book/test_notebooks.py`` loads it into each nbval run (``-p nbval_numbers``). After
the regular expressions of ``nbval-sanitize.cfg`` have been applied, every decimal number in
an output (``209.31542440679473``, ``0.30000000000000004``, ``1.0000000000000002e-05``) is
rewritten as ``format(value, ".10g")`` on both sides, so two outputs agree when their numbers
agree to about 5e-11 relative.

Why that tolerance: the committed outputs come from one machine, and a reader's CPU makes
OpenBLAS pick another kernel (AVX-512, AVX2, AVX, NEON), which sums dot products in another
order. A glued value that the prose formats as ``:.0f`` is still stored with all 17 digits
of its ``repr``, and those last digits move (``209.31542440679473`` on one kernel,
``…476`` on another: 1.4e-16 relative). Ten significant digits leave five orders of
magnitude for such rounding, while anything a reader can see in the text (printed with at
most 4-6 significant digits) is still compared exactly. Numbers that differ by more than
rounding, e.g. accuracies after a long training run, are not the business of this rounding:
those cells print what is stable or are tagged ``nbval-ignore-output`` with their claim
asserted in the notebook.
"""

from __future__ import annotations

import re

from nbval.plugin import IPyNbCell

SIGNIFICANT = 10
# a decimal number with a point or an exponent, not part of a word or of a dotted version
NUMBER = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+(?=e))(?:e[+-]?\d+)?(?![\d.])")


def round_numbers(text: str) -> str:
    """Every decimal number of ``text`` written with SIGNIFICANT significant digits."""
    return NUMBER.sub(lambda m: format(float(m.group(0)), f".{SIGNIFICANT}g"), text)


_sanitize = IPyNbCell.sanitize


def sanitize(self, s):
    s = _sanitize(self, s)
    return round_numbers(s) if isinstance(s, str) else s


IPyNbCell.sanitize = sanitize
