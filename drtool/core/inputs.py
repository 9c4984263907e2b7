"""The input layer: every file and option a command takes is checked here before anything runs.

Input is hostile until proven otherwise: a drill file may be 50 MB, a billion
laughs, 10,000 brackets deep, carry `!!python/object` or a NUL byte. Each
check answers in bounded time and memory with one `Problem` (`file:line:
problem`, or `option --x: problem`) and never lets an exception escape as a
traceback. Nothing here calls AWS or writes anything.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any, Iterable

import yaml

from drtool.core.model import DrillFileError, Problem

# Limits. A real drill file is a few kilobytes, a few levels deep, with a handful of aliases at most.
MAX_FILE_BYTES = 256 * 1024  # the YAML parser is pure Python: about 0.6 s for this much
MAX_DEPTH = 32
MAX_NODES = 20_000  # nodes after expanding every alias: what the line map and the validator walk
MAX_KEY_LENGTH = 256

SAFE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")
)


def option_problem(option: str, message: str) -> Problem:
    """A bad command-line option: `option --x: problem`."""
    return Problem(f"option {option}", None, message)


def fail_if(problems: Iterable[Problem]) -> None:
    found = list(problems)
    if found:
        raise DrillFileError(found)


# --- reading files ------------------------------------------------------------------------------


def read_text_file(path: Path, what: str, *, limit: int = MAX_FILE_BYTES) -> str:
    """A regular file's text, UTF-8, at most `limit` bytes, with no NUL; else a DrillFileError naming the line."""
    return read_input(path, what, limit=limit)[1]


def read_input(path: Path, what: str, *, limit: int = MAX_FILE_BYTES) -> tuple[bytes, str]:
    """A regular file's bytes and its text (see `read_text_file`)."""
    file = str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DrillFileError([Problem(file, None, f"cannot read the {what}: {exc.strerror or exc}")]) from None
    if stat.S_ISDIR(info.st_mode):
        raise DrillFileError([Problem(file, None, f"is a directory, not a {what}")])
    if not stat.S_ISREG(info.st_mode):
        raise DrillFileError([Problem(file, None, f"is not a regular file (a device, pipe or socket), so not a {what}")])
    if info.st_size > limit:
        raise DrillFileError([Problem(file, None, f"the {what} is {info.st_size:,} bytes; the limit is {limit:,}")])
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise DrillFileError([Problem(file, None, f"cannot read the {what}: {exc.strerror or exc}")]) from None
    if len(raw) > limit:  # it grew while we looked
        raise DrillFileError([Problem(file, None, f"the {what} is over {limit:,} bytes")])
    return raw, decode_text(raw, file, what)


def decode_text(raw: bytes, file: str, what: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DrillFileError([Problem(file, line, f"the {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x})")]) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    control = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise DrillFileError([Problem(file, line, f"the {what} holds a control character (U+{ord(control.group()):04X}), "
                                                  "which no drill file or feature needs")])
    return text


# --- YAML -----------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses depth beyond MAX_DEPTH while composing (the composer recurses), and constructs nothing unsafe."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):  # type: ignore[override]
        """A scalar that does not convert (`!!int abc`, `2024-13-45`) is refused at its line."""
        try:
            return super().construct_object(node, deep=deep)
        except _Refused:
            raise
        except (ValueError, OverflowError, TypeError, yaml.YAMLError) as exc:
            detail = getattr(exc, "problem", None) or str(exc)
            raise _Refused(_line(node), f"the value {str(node.value)[:40]!r} cannot be read as "
                                        f"{_kind(node.tag)}: {detail}") from None


_KINDS = {"int": "an integer", "float": "a number", "bool": "a boolean", "null": "null", "timestamp": "a date",
          "map": "a mapping", "seq": "a list", "str": "a string"}


def _kind(tag: str) -> str:
    name = tag.rsplit(":", 1)[-1]
    return _KINDS.get(name, f"a {name}")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_graph(root: yaml.Node) -> None:
    """Tags, keys and alias expansion, visiting each node once: an alias shares its node, so this is linear in the text.

    `size` is what the node expands to, aliases included: a billion laughs is refused here, before anything walks it.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: (node, children visited?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            total = 1 + sum(size[id(child)] for child in children)
            if total > MAX_NODES:
                raise _Refused(_line(node), f"holds more than {MAX_NODES:,} values, aliases expanded; "
                                            "a drill file needs far fewer (is this an alias bomb?)")
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise _Refused(_line(node), "an alias refers to a node that contains it (a recursive alias)")
        if node.tag not in SAFE_TAGS:
            raise _Refused(_line(node), f"the tag {node.tag!r} is not allowed; a drill file holds only plain "
                                        "strings, numbers, booleans, lists and mappings")
        if isinstance(node, yaml.MappingNode):
            _check_keys(node)
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _Refused(_line(child), "an alias refers to a node that contains it (a recursive alias)")
            if id(child) not in size:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_keys(node: yaml.MappingNode) -> None:
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        line = _line(key_node)
        if not isinstance(key_node, yaml.ScalarNode):
            raise _Refused(line, "a key must be a plain name, not a list or a mapping (a complex '? ' key)")
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults`: SafeConstructor merges it, and the expansion was counted
        if key_node.tag != "tag:yaml.org,2002:str":
            raise _Refused(line, f"the key {key_node.value!r} reads as {_kind(key_node.tag)}, not a name; "
                                 "quote it if you mean it")
        if len(key_node.value) > MAX_KEY_LENGTH:
            raise _Refused(line, f"a key of {len(key_node.value):,} characters; no key is that long")
        if key_node.value in seen:
            raise _Refused(line, f"duplicate key {key_node.value!r} (first at line {seen[key_node.value]})")
        seen[key_node.value] = line


def _line_map(root: yaml.Node) -> dict[tuple[str, ...], int]:
    """The line of every key and item, by path (each part as a string). Bounded: the graph was checked first."""
    lines: dict[tuple[str, ...], int] = {(): _line(root)}
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = path + (str(key_node.value),)
                lines[child] = _line(key_node)
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = path + (str(index),)
                lines[child] = _line(item)
                stack.append((item, child))
    return lines


def parse_yaml(text: str, file: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    """One YAML document, safely: the value and the line of every key and item (path parts as strings)."""
    loader = None
    try:
        try:
            loader = _BoundedLoader(text)
            node = loader.get_single_node()
            if node is None:
                raise _Refused(None, "the file is empty")
            _check_graph(node)
            lines = _line_map(node)
            return loader.construct_document(node), lines
        except yaml.reader.ReaderError as exc:
            raise _Refused(text.count("\n", 0, exc.position) + 1, f"not valid YAML: {exc.reason}") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "malformed"
            raise _Refused(mark.line + 1 if mark else None, f"not valid YAML: {problem}") from None
        except RecursionError:
            raise _Refused(None, f"nested too deep (the limit is {MAX_DEPTH} levels)") from None
        finally:
            if loader is not None:
                loader.dispose()
    except _Refused as refused:
        raise DrillFileError([Problem(file, refused.line, refused.message)]) from None


def line_for(path: Iterable[Any], lines: dict[tuple[str, ...], int]) -> int | None:
    """The line of the deepest known part of `path`."""
    parts = tuple(str(part) for part in path)
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return lines.get(())


# --- options --------------------------------------------------------------------------------------

MAX_TIME_SCALE = 100_000.0
ACCOUNT_ID = re.compile(r"^\d{12}$")
RUN_ID = re.compile(r"^[a-z0-9]{1,16}$")


def time_scale_problems(value: float | None, option: str = "--time-scale", *, sandbox: bool = True) -> list[Problem]:
    if value is None:
        return []
    if not sandbox:
        return [option_problem(option, "only the sandbox's world clock can run faster; add --sandbox, or drop it")]
    if not math.isfinite(value) or value <= 0:
        return [option_problem(option, f"{value!r} is not a speed-up; give a positive number, e.g. 120")]
    if value > MAX_TIME_SCALE:
        return [option_problem(option, f"{value:g} is too fast for the lab's processes to keep up; at most {MAX_TIME_SCALE:g}")]
    return []


def account_id_problems(value: str, option: str = "--account-id") -> list[Problem]:
    if value == "*" or ACCOUNT_ID.match(value):
        return []
    return [option_problem(option, f"{value!r} is not an AWS account id (12 digits, or * for any account)")]


def run_id_problems(value: str | None, option: str = "--run-id") -> list[Problem]:
    if value is None or RUN_ID.match(value):
        return []
    return [option_problem(option, f"{value[:40]!r} is not a drill run id (lowercase letters and digits, like 3f9a2c1b)")]


def port_problems(value: int, option: str = "--port") -> list[Problem]:
    if not 0 <= value <= 65535:
        return [option_problem(option, f"{value} is not a TCP port (0 to 65535; 0 picks a free one)")]
    if value == 0:
        return []
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", value))
    except OSError as exc:
        return [option_problem(option, f"cannot listen on 127.0.0.1:{value}: {exc.strerror or exc}")]
    finally:
        probe.close()
    return []


def _writable_ancestor(path: Path) -> tuple[Path | None, str | None]:
    """The nearest existing ancestor of `path`, or why the path cannot be made there."""
    for parent in path.absolute().parents:
        try:
            info = os.stat(parent)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            return None, f"cannot look at {parent}: {exc.strerror or exc}"
        if not stat.S_ISDIR(info.st_mode):
            return None, f"{parent} is a file, so nothing can be made under it"
        if not os.access(parent, os.W_OK | os.X_OK):
            return None, f"{parent} is not writable"
        return parent, None
    return None, "no existing directory above it"


def _existing(path: Path, option: str) -> tuple[os.stat_result | None, list[Problem]]:
    """What is at `path` now: None if nothing is, or the problem if it cannot be looked at."""
    try:
        return os.stat(path), []
    except (FileNotFoundError, NotADirectoryError):
        return None, []
    except OSError as exc:
        return None, [option_problem(option, f"{path}: {exc.strerror or exc}")]


def output_file_problems(path: Path | None, option: str) -> list[Problem]:
    """A file drtool will write after the run: it must be writable now, not found unwritable at the end."""
    if path is None:
        return []
    if str(path) == "" or path.name in ("", ".", ".."):
        return [option_problem(option, f"{str(path)!r} names no file")]
    info, problems = _existing(path, option)
    if problems:
        return problems
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            return [option_problem(option, f"{path} is a directory; name a file")]
        if not stat.S_ISREG(info.st_mode):
            return [option_problem(option, f"{path} is not a regular file")]
        if not os.access(path, os.W_OK):
            return [option_problem(option, f"{path} is not writable")]
        return []
    _, why = _writable_ancestor(path)
    return [option_problem(option, f"{path}: {why}")] if why else []


def output_dir_problems(path: Path | None, option: str) -> list[Problem]:
    """A directory drtool will write into (journals): it must be one, or be creatable."""
    if path is None:
        return []
    if str(path) == "":
        return [option_problem(option, "an empty path names no directory")]
    info, problems = _existing(path, option)
    if problems:
        return problems
    if info is not None:
        if not stat.S_ISDIR(info.st_mode):
            return [option_problem(option, f"{path} is a file, not a directory")]
        if not os.access(path, os.W_OK | os.X_OK):
            return [option_problem(option, f"{path} is not writable")]
        return []
    _, why = _writable_ancestor(path)
    return [option_problem(option, f"{path}: {why}")] if why else []

