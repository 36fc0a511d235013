from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pact_asgi import MalformedError
from pact_asgi._encoding import (
    b64url_decode,
    b64url_encode,
    format_time,
    loads_strict,
    parse_time,
)


@given(st.binary(max_size=64))
def test_b64url_round_trip_with_and_without_padding(data):
    encoded = b64url_encode(data)
    assert "=" not in encoded
    assert b64url_decode(encoded) == data
    assert b64url_decode(encoded + "=" * (-len(encoded) % 4)) == data


@pytest.mark.parametrize("text", ["a+b/", "ab cd", "abc===", "a", "é", "ab=c"])
def test_b64url_refuses_other_alphabets_and_bad_padding(text):
    with pytest.raises(MalformedError) as caught:
        b64url_decode(text)
    assert caught.value.code == "malformed_encoding"


def test_times_parse_to_aware_utc():
    assert parse_time("2026-12-03T17:00:00Z", "t") == datetime(
        2026, 12, 3, 17, tzinfo=timezone.utc
    )
    assert parse_time("2026-12-03T18:00:00.5+01:00", "t") == datetime(
        2026, 12, 3, 17, 0, 0, 500000, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    "text", ["2026-12-03T17:00:00", "2026-12-03", "yesterday", "2026-13-03T17:00:00Z", 17]
)
def test_times_without_zone_or_unparsable_refused(text):
    with pytest.raises(MalformedError) as caught:
        parse_time(text, "expires")
    assert caught.value.code == "malformed_time"


def test_format_time_is_utc_whole_seconds():
    moment = datetime(2026, 12, 3, 18, 0, 0, 999, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(moment) == "2026-12-03T17:00:00Z"
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": 1, "a": 2}',  # duplicate key
        '["\\ud800"]',  # lone surrogate
        '{"\\udfff": 1}',  # lone surrogate in a key
        "[NaN]",
        "[Infinity]",
        "[" * 100 + "]" * 100,  # hostile nesting
        "{not json}",
        b"\xff\xfe",  # not UTF-8
    ],
)
def test_strict_json_refuses_ambiguity(raw):
    with pytest.raises(MalformedError) as caught:
        loads_strict(raw)
    assert caught.value.code == "malformed_json"


def test_strict_json_accepts_plain_documents():
    assert loads_strict('{"a": ["x", 1, true, null]}') == {"a": ["x", 1, True, None]}


@given(st.text(max_size=200))
def test_strict_json_raises_only_malformed(raw):
    with contextlib.suppress(MalformedError):
        loads_strict(raw)
