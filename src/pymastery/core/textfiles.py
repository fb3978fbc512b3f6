"""Reading content files: text and YAML with line numbers, every failure a Problem."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pymastery.core.problems import Problems

M = TypeVar("M", bound=BaseModel)

try:
    YamlLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # PyYAML built without libyaml
    YamlLoader = yaml.SafeLoader


def read_text(path: Path, problems: Problems) -> str | None:
    """The file's UTF-8 text, or None with a problem recorded."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.add(path, 1, "missing file")
        return None
    except IsADirectoryError:
        problems.add(path, 1, "expected a file, found a folder")
        return None
    except OSError as error:
        problems.add(path, 1, f"cannot read: {error.strerror}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.add(
            path, line, f"not valid UTF-8 (byte {raw[error.start]:#04x} at offset {error.start})"
        )
        return None
    if not text.strip():
        problems.add(path, 1, "empty file")
        return None
    return text


class YamlDocument:
    """Parsed YAML that still knows the line of every value."""

    def __init__(self, node: yaml.Node, data: Any) -> None:
        self.node = node
        self.data = data

    def line_of(self, location: Sequence[int | str]) -> int:
        """The 1-based line of the value at a Pydantic error location (best effort)."""
        node = self.node
        for step in location:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == step), None)
                if match is None:
                    break
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if step >= len(node.value):
                    break
                node = node.value[step]
            else:
                break
        return node.start_mark.line + 1


def read_yaml(path: Path, problems: Problems) -> YamlDocument | None:
    text = read_text(path, problems)
    if text is None:
        return None
    loader = YamlLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        problems.add(path, line, f"malformed YAML: {error.problem or error.context}")
        return None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        character = error.character
        shown = character if isinstance(character, str) else chr(character)
        problems.add(path, line, f"malformed YAML: character {shown!r} is not allowed here")
        return None
    except yaml.YAMLError as error:
        problems.add(path, 1, f"malformed YAML: {error}")
        return None
    finally:
        loader.dispose()
    if node is None:
        problems.add(path, 1, "empty file")
        return None
    return YamlDocument(node, data)


def parse_model(model: type[M], path: Path, problems: Problems) -> M | None:
    """Load a YAML file into a model, reporting every field error with its line."""
    document = read_yaml(path, problems)
    if document is None:
        return None
    return validate_model(model, document, path, problems)


def validate_model(
    model: type[M],
    document: YamlDocument,
    path: Path,
    problems: Problems,
    location: Sequence[int | str] = (),
) -> M | None:
    data = document.data
    for step in location:
        data = data[step]
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for issue in error.errors():
            loc = (*location, *issue["loc"])
            field = ".".join(str(part) for part in loc) or "document"
            message = issue["msg"].removeprefix("Value error, ")
            if issue["type"] == "extra_forbidden":
                message = "unknown field (check the spelling against docs/content-format.md)"
            problems.add(path, document.line_of(loc), f"{field}: {message}")
        return None
