"""Held-out code text for the teacher-forced fidelity measurement (top-1 agreement, perplexity).

Written for this project (not taken from the Python standard library, which bench/train_tiny.py
trains on), in the languages an editor user writes most.  About 900 tokens with the DeepSeek-Coder
tokenizer; ``validate`` reads at most ``fidelity_tokens`` of them.
"""

HELD_TEXTS = (
    '''import heapq
from dataclasses import dataclass, field


@dataclass(order=True)
class Job:
    priority: int
    name: str = field(compare=False)
    retries: int = field(default=0, compare=False)


class Scheduler:
    """Runs the most urgent job first; a failed job goes back with a lower priority."""

    def __init__(self, max_retries: int = 3) -> None:
        self._queue: list[Job] = []
        self.max_retries = max_retries

    def submit(self, name: str, priority: int = 10) -> None:
        heapq.heappush(self._queue, Job(priority, name))

    def run(self, work) -> list[str]:
        done = []
        while self._queue:
            job = heapq.heappop(self._queue)
            try:
                work(job.name)
            except Exception:
                if job.retries < self.max_retries:
                    job.retries += 1
                    job.priority += 5
                    heapq.heappush(self._queue, job)
                continue
            done.append(job.name)
        return done
''',
    """export async function fetchJson(url, { retries = 3, timeoutMs = 5000 } = {}) {
  for (let attempt = 0; attempt <= retries; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(url, { signal: controller.signal });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status} for ${url}`);
      }
      return await response.json();
    } catch (error) {
      if (attempt === retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 100));
    } finally {
      clearTimeout(timer);
    }
  }
}
""",
    """#include <stdlib.h>
#include <string.h>

typedef struct {
    char **items;
    size_t len;
    size_t cap;
} StrVec;

int strvec_push(StrVec *v, const char *s) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        char **items = realloc(v->items, cap * sizeof *items);
        if (!items) return -1;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len] = strdup(s);
    return v->items[v->len++] ? 0 : -1;
}
""",
    '''def parse_duration(text: str) -> int:
    """Seconds in a duration such as '1h30m' or '45s'."""
    units = {"h": 3600, "m": 60, "s": 1}
    total, number = 0, ""
    for char in text.strip().lower():
        if char.isdigit():
            number += char
        elif char in units and number:
            total += int(number) * units[char]
            number = ""
        else:
            raise ValueError(f"bad duration: {text!r}")
    if number:
        raise ValueError(f"missing unit in {text!r}")
    return total


def test_parse_duration():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("45s") == 45
''',
)
