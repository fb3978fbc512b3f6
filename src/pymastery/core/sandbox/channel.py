"""The JSON channel between the learner's sandbox and the tests' sandbox.

Standard library only: this file is bound read-only into both sandboxes and run there.

Learner side (`python -I channel.py serve FD FILE MODULE`): imports the learner's file and
serves calls of its top-level functions. Test side: the tests' sandbox holds, under the learner
module's name, a two-line module that calls `install_proxy(__name__)`; it fills that module with
stand-ins that send each call across and return the answer. Only JSON values cross: None, bool,
int, float (inf and nan too, as Python's json writes them), str, lists and dicts with str keys
(tuples arrive as lists). An exception the learner's code raises crosses as its type name and
message and is raised again test-side as the same builtin type when it is one, as a same-named
subclass of its nearest builtin base when the learner's module defines it at the top level, and as
`LearnerError` otherwise. Nothing the learner's process sends is ever executed or unpickled
test-side: the tests see plain values.

Each message is a 4-byte big-endian length and that many bytes of UTF-8 JSON.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import json
import os
import socket
import struct
import sys
import traceback
from collections.abc import Callable
from typing import Any

MAX_MESSAGE = 8 * 1024 * 1024
MAX_CALL_OUTPUT = 64 * 1024
MAX_DEPTH = 200
MAX_CONSTANT = 64 * 1024
FD_VARIABLE = "PYMASTERY_CHANNEL_FD"
HEADER = struct.Struct(">I")

# Plain words for errors whose cause is a sandbox limit, added to the learner's message.
SANDBOX_NOTES = {
    errno.EPERM: "the grading sandbox does not allow this: no network, no other processes",
    errno.EFBIG: "the grading sandbox caps the size of a file",
    errno.ENOSPC: "the grading sandbox's /tmp is small",
    errno.EROFS: "outside /tmp, the grading sandbox is read-only",
    errno.EAGAIN: "the grading sandbox caps how many processes and threads run at once",
    errno.EMFILE: "the grading sandbox caps how many files are open at once",
}


class ChannelError(ConnectionError):
    """The channel broke or carried something that is not a message."""


class ChannelClosed(ChannelError):
    """The other end is gone."""


class LearnerError(Exception):
    """An exception from the learner's code whose type has no test-side counterpart."""


class NotJson(TypeError):
    """A value that cannot cross the channel."""


# Framing ------------------------------------------------------------------------------------


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, ensure_ascii=False).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise NotJson(
            f"the value is too large to cross ({len(data):,} bytes; at most {MAX_MESSAGE:,})"
        )
    sock.sendall(HEADER.pack(len(data)) + data)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise ChannelClosed(
                "the process running your code ended (os._exit(), a crash or a sandbox limit)"
            )
        chunks += chunk
    return bytes(chunks)


def receive(sock: socket.socket) -> dict[str, Any]:
    """One message, parsed strictly into plain values; anything else is a ChannelError."""
    __tracebackhide__ = True
    (size,) = HEADER.unpack(_read_exactly(sock, HEADER.size))
    if size > MAX_MESSAGE:
        raise ChannelError(f"a message of {size:,} bytes is over the {MAX_MESSAGE:,}-byte cap")
    data = _read_exactly(sock, size)
    try:
        message = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise ChannelError(
            f"the learner's process sent something that is not JSON: {error}"
        ) from None
    if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
        raise ChannelError("the learner's process sent a message of the wrong shape")
    return message


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as JSON-ready plain data, or NotJson naming what cannot cross."""
    if depth > MAX_DEPTH:
        raise NotJson(f"the value is nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) in (list, tuple):
        return [plain(item, depth + 1) for item in value]
    if type(value) is dict:
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise NotJson(f"a dict key {key!r} is not a str; JSON keys are strings")
            result[key] = plain(item, depth + 1)
        return result
    raise NotJson(
        f"a {type(value).__name__} cannot cross as JSON "
        "(None, bool, int, float, str, list and dict with str keys can)"
    )


# Learner side -------------------------------------------------------------------------------


def nearest_builtin(cls: type) -> str:
    for base in cls.__mro__:
        if getattr(builtins, base.__name__, None) is base and issubclass(base, Exception):
            return str(base.__name__)
    return "Exception"


def describe(error: BaseException) -> dict[str, Any]:
    try:
        message = str(error)
    except Exception:  # a learner's __str__ may raise
        message = "(the exception's message could not be turned into text)"
    if isinstance(error, KeyError) and len(error.args) == 1 and isinstance(error.args[0], str):
        message = error.args[0]
    code = getattr(error, "errno", None)
    if isinstance(error, OSError) and code in SANDBOX_NOTES:
        message = f"{message} ({SANDBOX_NOTES[code]})"
    if isinstance(error, MemoryError):
        message = f"{message or 'out of memory'} (the grading sandbox caps memory)"
    return {
        "kind": "raise",
        "type": type(error).__name__,
        "base": nearest_builtin(type(error)),
        "message": message[:10_000],
    }


class _Capped(io.StringIO):
    def write(self, text: str) -> int:
        room = MAX_CALL_OUTPUT - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


def _learner_frames(error: BaseException, path: str) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
    lines = traceback.format_list(frames) + traceback.format_exception_only(error)
    return "".join(lines)[-4000:]


def serve(fd: int, path: str, name: str) -> None:
    """Import the learner's file as module `name`, then answer calls until the tests finish."""
    import importlib.util

    sock = socket.socket(fileno=fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115  # the learner's code reads nothing
    module = None
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except BaseException as error:  # SyntaxError, SystemExit... all cross
        report = describe(error)
        report["kind"] = "import-error"
        report["traceback"] = _learner_frames(error, path)
        if isinstance(error, SyntaxError):
            report.update(lineno=error.lineno, offset=error.offset, text=error.text)
        send(sock, report)
        return
    send(sock, hello(module))
    while True:
        try:
            message = receive(sock)
        except ChannelError:
            return
        if message["kind"] == "call":
            reply = answer(module, message)
            try:
                send(sock, reply)
            except NotJson as error:  # too large
                send(
                    sock,
                    {"kind": "raise", "type": "TypeError", "base": "TypeError"}
                    | {"message": str(error), "output": ""},
                )


def hello(module: Any) -> dict[str, Any]:
    functions: list[str] = []
    exceptions: dict[str, str] = {}
    constants: dict[str, Any] = {}
    for attribute, value in vars(module).items():
        if attribute.startswith("_") or not attribute.isidentifier():
            continue
        if isinstance(value, type) and issubclass(value, BaseException):
            if getattr(value, "__module__", None) == module.__name__:
                exceptions[attribute] = nearest_builtin(value)
        elif callable(value):
            if getattr(value, "__module__", None) == module.__name__:
                functions.append(attribute)
        else:
            with contextlib.suppress(NotJson, ValueError):
                value = plain(value)
                if len(json.dumps(value)) <= MAX_CONSTANT:
                    constants[attribute] = value
    return {
        "kind": "hello",
        "functions": functions,
        "exceptions": exceptions,
        "constants": constants,
    }


def answer(module: Any, message: dict[str, Any]) -> dict[str, Any]:
    output = _Capped()
    function = getattr(module, str(message.get("function")), None)
    args, kwargs = message.get("args", []), message.get("kwargs", {})
    try:
        if not callable(function) or not isinstance(args, list) or not isinstance(kwargs, dict):
            raise AttributeError(f"{module.__name__} has no function {message.get('function')!r}")
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            value = function(*args, **kwargs)
        try:
            reply: dict[str, Any] = {"kind": "return", "value": plain(value)}
        except NotJson as error:
            raise TypeError(
                f"{getattr(function, '__name__', 'the function')}() returned something that "
                f"cannot reach the tests: {error}"
            ) from None
    except BaseException as error:  # sys.exit(), KeyboardInterrupt... all cross
        reply = describe(error)
    reply["output"] = output.getvalue()
    return reply


# Test side ----------------------------------------------------------------------------------


class Proxy:
    """The test side's end: sends calls, returns plain values, re-raises learner exceptions."""

    def __init__(self, sock: socket.socket, module_name: str) -> None:
        self.sock = sock
        self.module_name = module_name
        self.broken: str | None = None
        self.exceptions: dict[str, type[Exception]] = {}

    def start(self) -> dict[str, Any]:
        __tracebackhide__ = True  # pytest shows the learner's error, not the channel's frames
        try:
            first = self.receive()
        except ChannelClosed:
            self.broken = (
                f"{self.module_name}.py ended its own process while being imported "
                "(os._exit(), a crash or a sandbox limit), so the tests cannot reach it"
            )
            raise ChannelError(self.broken) from None
        if first["kind"] == "import-error":
            raise self.import_error(first)
        if first["kind"] != "hello":
            raise ChannelError("the learner's process did not start the conversation properly")
        return first

    def receive(self) -> dict[str, Any]:
        __tracebackhide__ = True
        if self.broken:
            raise ChannelError(self.broken)
        try:
            return receive(self.sock)
        except ChannelError as error:
            self.broken = f"{error} (no later call can reach it)"
            raise

    def import_error(self, report: dict[str, Any]) -> BaseException:
        kind, message = str(report.get("type")), str(report.get("message"))
        file = f"{self.module_name}.py"
        where = str(report.get("traceback") or "").strip()
        if kind in ("SyntaxError", "IndentationError", "TabError"):
            line = report.get("lineno")
            error = SyntaxError(
                f"{message.split(' (', 1)[0]} ({file}, line {line})",
                (file, line if isinstance(line, int) else None, None, None),
            )
            return error
        text = f"importing {file} raised {kind}: {message}"
        if where:
            text += "\n" + where
        return ImportError(text)

    def exception_type(self, report: dict[str, Any]) -> type[Exception]:
        name, base = str(report.get("type")), str(report.get("base"))
        if name in self.exceptions:
            return self.exceptions[name]
        found = getattr(builtins, name, None)
        if isinstance(found, type) and issubclass(found, Exception):
            return found
        found = getattr(builtins, base, None)
        if isinstance(found, type) and issubclass(found, Exception):
            return type(name, (found,), {"__module__": self.module_name})
        return LearnerError

    def raised(self, report: dict[str, Any]) -> Exception:
        cls = self.exception_type(report)
        message = str(report.get("message", ""))
        if cls is LearnerError:
            message = f"{report.get('type')}: {message}"
        for candidate in cls.__mro__:
            if not (isinstance(candidate, type) and issubclass(candidate, Exception)):
                break
            try:
                error: Exception = candidate(message)
            except Exception:  # e.g. UnicodeDecodeError takes five arguments
                continue
            return error
        return LearnerError(message)

    def call(self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        __tracebackhide__ = True
        try:
            request = {
                "kind": "call",
                "function": function,
                "args": plain(args),
                "kwargs": plain(kwargs),
            }
        except NotJson as error:
            raise NotJson(f"an argument to {function}() cannot cross: {error}") from None
        if self.broken:
            raise ChannelError(self.broken)
        try:
            send(self.sock, request)
        except OSError:
            self.broken = "the learner's process ended (no later call can reach it)"
            raise ChannelError(self.broken) from None
        reply = self.receive()
        output = reply.get("output")
        if isinstance(output, str) and output:
            sys.stdout.write(output)
        if reply["kind"] == "return" and "value" in reply:
            return reply["value"]
        if reply["kind"] == "raise":
            raise self.raised(reply)
        self.broken = "the learner's process sent an answer of the wrong shape"
        raise ChannelError(self.broken)

    def stand_in(self, function: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            return self.call(function, args, kwargs)

        call.__name__ = call.__qualname__ = function
        call.__module__ = self.module_name
        return call


def install_proxy(module_name: str) -> None:
    """Fill the module `module_name` with stand-ins for the learner's top-level names."""
    __tracebackhide__ = True
    module = sys.modules[module_name]
    fd = int(os.environ[FD_VARIABLE])
    proxy = Proxy(socket.socket(fileno=fd), module_name)
    hello_message = proxy.start()
    exceptions = hello_message.get("exceptions", {})
    if isinstance(exceptions, dict):
        for name, base in exceptions.items():
            if isinstance(name, str) and name.isidentifier() and not name.startswith("_"):
                found = getattr(builtins, str(base), None)
                if not (isinstance(found, type) and issubclass(found, Exception)):
                    found = Exception
                cls = type(name, (found,), {"__module__": module_name})
                proxy.exceptions[name] = cls
                setattr(module, name, cls)
    constants = hello_message.get("constants", {})
    if isinstance(constants, dict):
        for name, value in constants.items():
            if isinstance(name, str) and name.isidentifier() and not name.startswith("_"):
                setattr(module, name, value)
    functions = hello_message.get("functions", [])
    if isinstance(functions, list):
        for name in functions:
            if isinstance(name, str) and name.isidentifier() and not name.startswith("_"):
                setattr(module, name, proxy.stand_in(name))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: channel.py serve FD FILE MODULE")
