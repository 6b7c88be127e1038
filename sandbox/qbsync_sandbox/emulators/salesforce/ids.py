"""Salesforce record ids: 15 case-sensitive characters plus a 3-character case-safe suffix.

The suffix encodes, for each 5-character chunk, which characters are upper case (the published
algorithm behind `CASESAFEID`), so ids look and behave like a real org's.
"""

from __future__ import annotations

import itertools
import re
import threading

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-5]{3})?$")

# The 4th-5th characters are the pod/instance, the rest a counter (as in "001Hs00000AbCdE").
_POD = "Hs"


def case_safe(id15: str) -> str:
    """The 18-character form of a 15-character id."""
    suffix = ""
    for start in (0, 5, 10):
        flags = 0
        for bit, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                flags |= 1 << bit
        suffix += _SUFFIX_ALPHABET[flags]
    return id15 + suffix


def normalize(value: str) -> str | None:
    """The 18-character id for a 15- or 18-character id, or None if it is not id-shaped."""
    if not isinstance(value, str) or not _ID_SHAPE.match(value):
        return None
    return case_safe(value[:15])


class IdFactory:
    """Hands out unique ids per key prefix (thread-safe)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, key_prefix: str) -> str:
        with self._lock:
            number = next(self._counter)
        digits = ""
        for _ in range(8):
            number, rest = divmod(number, 62)
            digits = _BASE62[rest] + digits
        # 3 prefix + 2 pod + 2 zeros + 8 counter = 15 characters
        return case_safe(f"{key_prefix}{_POD}00{digits}")
