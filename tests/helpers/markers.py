"""pytest markers that more than one test file uses."""

from __future__ import annotations

import pytest

from .paths import SHARED_TOKENIZER, has_real_tokenizer

needs_real_tokenizer = pytest.mark.skipif(
    not has_real_tokenizer(),
    reason=f"the DeepSeek-Coder tokenizer folder {SHARED_TOKENIZER} is not present on this machine",
)
