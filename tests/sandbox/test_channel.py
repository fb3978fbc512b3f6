"""The JSON channel's pieces, in-process: what may cross, how exceptions come back."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from pymastery.core.sandbox import channel


def test_only_plain_json_values_cross() -> None:
    assert channel.plain({"a": [1, 2.5, "x", None, True, (3, 4)]}) == {
        "a": [1, 2.5, "x", None, True, [3, 4]]
    }
    assert channel.plain([float("inf")]) == [float("inf")]  # as Python's json writes it
    for value in ({1: "int key"}, {1, 2}, object(), b"bytes", range(3)):
        with pytest.raises(channel.NotJson):
            channel.plain(value)


def test_subclasses_of_plain_types_are_refused_rather_than_trusted() -> None:
    class Sneaky(int):
        pass

    with pytest.raises(channel.NotJson):
        channel.plain(Sneaky(3))


def test_a_self_containing_list_is_refused_by_depth() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(channel.NotJson, match="nested"):
        channel.plain(loop)


def framed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


@pytest.mark.parametrize(
    "payload",
    [
        b"NaN",
        b"[1, 2]",
        b'{"no kind": 1}',
        b"\xff\xfe",
        b"{'single': 1}",
        b"[" * 50_000 + b"]" * 50_000,
    ],
)
def test_anything_but_a_message_object_is_a_channel_error(payload: bytes) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(framed(payload))
        with pytest.raises(channel.ChannelError):
            channel.receive(ours)


def test_an_oversized_frame_is_refused_before_it_is_read() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(struct.pack(">I", channel.MAX_MESSAGE + 1))
        with pytest.raises(channel.ChannelError, match="cap"):
            channel.receive(ours)


def test_a_closed_channel_says_the_learners_process_ended() -> None:
    ours, theirs = socket.socketpair()
    theirs.close()
    with ours, pytest.raises(channel.ChannelClosed, match="ended"):
        channel.receive(ours)


@pytest.fixture
def proxy() -> Iterator[channel.Proxy]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        yield channel.Proxy(ours, "invoice_total")


def test_builtin_exceptions_come_back_as_themselves(proxy: channel.Proxy) -> None:
    error = proxy.raised({"type": "KeyError", "base": "KeyError", "message": "sku"})
    assert type(error) is KeyError and error.args == ("sku",)


def test_a_learner_defined_exception_keeps_its_name_and_builtin_base(proxy: channel.Proxy) -> None:
    error = proxy.raised({"type": "OrderRejected", "base": "ValueError", "message": "no"})
    assert isinstance(error, ValueError) and type(error).__name__ == "OrderRejected"


def test_base_exceptions_never_come_back_as_themselves(proxy: channel.Proxy) -> None:
    for name in ("SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        error = proxy.raised({"type": name, "base": "Exception", "message": "0"})
        assert isinstance(error, Exception) and not isinstance(error, type(BaseException))
        assert f"{name}" in str(error) or type(error).__name__ == name
        assert not isinstance(error, (SystemExit, KeyboardInterrupt, GeneratorExit))


def test_an_exception_that_needs_more_arguments_falls_back_to_a_base(proxy: channel.Proxy) -> None:
    error = proxy.raised(
        {"type": "UnicodeDecodeError", "base": "UnicodeDecodeError", "message": "x"}
    )
    assert isinstance(error, ValueError)


def test_a_learner_exception_can_be_described_even_when_its_str_raises() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    report = channel.describe(Broken())
    assert report["type"] == "Broken" and report["base"] == "Exception"
    assert "could not be turned into text" in report["message"]
