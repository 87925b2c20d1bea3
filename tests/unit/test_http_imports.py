"""The HTTP client stack imports nothing per request.

httpcore asks `import sniffio` at every request (to know asyncio from trio); when sniffio is
not installed the failed import is not remembered, so each Bot API, Graph or SEFAZ call walked
sys.path again, four times a request (≈30% of a call's CPU). sniffio is a pinned dependency.
"""

from __future__ import annotations

import asyncio
import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from httpcore._synchronization import current_async_library


class _CountingFinder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> Any:
        self.asked.append(fullname)
        return None  # let the real finders answer


def test_httpcore_finds_its_async_library_without_searching_for_modules() -> None:
    async def ask() -> str:
        return current_async_library()

    assert asyncio.run(ask()) == "asyncio"  # first call: whatever import it needs
    finder = _CountingFinder()
    sys.meta_path.insert(0, finder)
    try:
        for _ in range(3):
            assert asyncio.run(ask()) == "asyncio"
    finally:
        sys.meta_path.remove(finder)
    assert finder.asked == []
