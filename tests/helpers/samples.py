"""Documents that more than one test file works on."""

from __future__ import annotations

# A comment asking for a change above a function, and a method to select without one.
GEOMETRY = """import math


# add type hints
def area(r):
    return math.pi * r * r


class Shape:
    def scale(self, k):
        self.k = k
        return self
"""
GEOMETRY_LINES = GEOMETRY.split("\n")

# For inline completion: a line mid-statement (1), a blank indented line (2), an emoji before a word (3).
INLINE_SOURCE = "def f(x):\n    y = x + 1\n    \n    s = '🐍' + na\n"
