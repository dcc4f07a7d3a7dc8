"""Shared pieces of the fuzz tests: the settings, the case counter, JSON and byte strategies,
a mutator for valid documents, and a fake *server* (a requests transport answering with
whatever hypothesis draws) in front of our real session and PlatformClient.

The normal suite runs each fuzz test with ``KIOSK_FUZZ_EXAMPLES`` examples (default 40);
``bench/fuzz.py`` runs them with many more and reports the counts per parser.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from kiosk.sync.http import PlatformClient, make_session

FUZZ = settings(
    max_examples=int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "40")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
    derandomize=os.environ.get("KIOSK_FUZZ_RANDOM") is None, database=None)

CASES: Counter[str] = Counter()


def count(parser: str) -> None:
    """One more case fed to ``parser`` (bench/fuzz.py prints these)."""
    CASES[parser] += 1


# --- strategies ------------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=40) | st.sampled_from(["", "0", "-1", "1e999", "\x00", "张三",
                                                      "\ud800", "accepted", "duplicate",
                                                      "rejected", "filed", "received"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=6),
                           max_leaves=25)


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from _paths(child, (*prefix, n))


@st.composite
def mutated(draw: Any, document: Any, max_changes: int = 3) -> Any:
    """``document`` (JSON) with a few random nodes replaced by random JSON or removed."""
    import copy

    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_changes))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(json_values)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return doc


def json_bytes(value: Any) -> bytes:
    import json

    # ASCII escapes: a lone surrogate travels as "\\ud800", as a JSON server would send it.
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode("ascii")


statuses = st.sampled_from([200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 409, 413,
                            422, 429, 500, 502, 503]) | st.integers(100, 599)


# --- a server that answers with anything -----------------------------------------------------

BASE_URL = "http://platform.fuzz"


class AnswerAnything(BaseAdapter):
    """A requests transport standing in for the platform: each request gets the next
    (status, body bytes) of ``answers``; when they run out, 503."""

    def __init__(self, answers: list[tuple[int, bytes]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.requests: list[tuple[str, str, bytes]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        self.requests.append((request.method or "", request.path_url,
                              body if isinstance(body, bytes) else body.encode()))
        status, content = self.answers.pop(0) if self.answers else (503, b"")
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers = CaseInsensitiveDict({"content-type": "application/json"})
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        response._content_consumed = True
        return response

    def close(self) -> None:
        pass


def fuzz_client(answers: list[tuple[int, bytes]]) -> tuple[PlatformClient, AnswerAnything]:
    """Our real session and PlatformClient, talking to a server that answers ``answers``."""
    session = make_session("fuzz-token")
    adapter = AnswerAnything(answers)
    session.mount(BASE_URL, adapter)
    return PlatformClient(BASE_URL, session), adapter
