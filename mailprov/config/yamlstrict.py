"""The strict PyYAML loader: what reads a file the fast reader (mailprov.config.fastyaml)
leaves to it, and finds the places of values to report an error.

Imported only then: PyYAML and its C extension cost a tenth of `mailprov validate`,
and most files never need them. See mailprov.config.yamlload for what is refused.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from mailprov.config.fastyaml import MAX_DIGITS
from mailprov.config.yamlload import ENCODING, INVALID, MAX_DEPTH, YamlError, _Invalid
from mailprov.i18n import _

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - libyaml is in every PyYAML wheel we install
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_TRUE_FALSE = {"true": True, "True": True, "TRUE": True,
               "false": False, "False": False, "FALSE": False}
_MERGE_TAG = "tag:yaml.org,2002:merge"
TOO_DEEP = "yaml-too-deep"


def _at(node: yaml.Node, message: str, code: str = "yaml-syntax") -> YamlError:
    mark = node.start_mark
    return YamlError(message, mark.line + 1, mark.column + 1, code)


class StrictLoader(_BaseLoader):
    """SafeLoader with the refusals described in the module docstring, collected in
    `problems` (in the order met) while the refused values are read as INVALID."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.problems: list[YamlError] = []
        self.refused: list[yaml.Node] = []  # the node of each problem, to find its path
        self._repeated: set[yaml.Node] = set()

    def _refuse(self, node: yaml.Node, message: str, code: str) -> _Invalid:
        self.problems.append(_at(node, message, code))
        self.refused.append(node)
        return INVALID

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            # reached a second time: through an alias. Said once per anchored value, and
            # never expanded, so a billion laughs costs one problem per anchor.
            if node not in self._repeated:
                self._repeated.add(node)
                self._refuse(node, _("this value has an anchor (&name) that an alias (*name) "
                                     "repeats; aliases are not allowed in mailprov files: "
                                     "write the value out in full"), "yaml-alias")
            return INVALID
        return super().construct_object(node, deep)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise _at(node, _("expected a mapping"))
        mapping: dict[str, Any] = {}
        first_keys: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._refuse(key_node, _("merge keys (<<) are not allowed in mailprov files: "
                                         "write the keys out in full"), "yaml-alias")
                continue
            key = self.construct_object(key_node, deep)
            # the value is read even when its key is refused: its own problems count too
            value = self.construct_object(value_node, deep)
            if key is INVALID:
                continue
            if not isinstance(key, str):
                raw = key_node.value if isinstance(key_node, yaml.ScalarNode) else "..."
                self._refuse(key_node, _("keys must be text: write '{raw}' in quotes").format(
                    raw=raw), "yaml-key-not-text")
            elif key in first_keys:
                first = first_keys[key].start_mark
                self._refuse(key_node, _("duplicate key '{key}' (first defined at line {line}, "
                                         "column {column}): keep one").format(
                    key=key, line=first.line + 1, column=first.column + 1),
                    "yaml-duplicate-key")
            else:
                first_keys[key] = key_node
                mapping[key] = value
        return mapping

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> Any:  # bool, or INVALID
        value = self.construct_scalar(node)
        if value not in _TRUE_FALSE:
            return self._refuse(node, _("'{value}' is read as a boolean by YAML 1.1: write "
                                        "true or false, or put it in quotes if you meant the "
                                        "text").format(value=value), "yaml-boolean")
        return _TRUE_FALSE[value]

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:  # int, or INVALID
        value = self.construct_scalar(node)
        if not _DECIMAL.match(value):
            octal = 0
            if ":" in value:
                text = _("'{value}' is read as a base-60 number by YAML 1.1: write a plain "
                         "decimal number (587), or put it in quotes if you meant the text")
            elif re.match(r"[-+]?0[0-7_]+\Z", value):
                octal = int(value.replace("_", ""), 8)
                text = _("'{value}' has a leading zero and is read as octal ({octal}) by YAML "
                         "1.1: write a plain decimal number (587), or put it in quotes if you "
                         "meant the text")
            else:
                text = _("'{value}' is not a plain decimal number: write a plain decimal number "
                         "(587), or put it in quotes if you meant the text")
            return self._refuse(node, text.format(value=value, octal=octal), "yaml-number")
        digits = len(value.lstrip("+-"))
        if digits > MAX_DIGITS:  # Python refuses to read more than 4,300 digits anyway
            return self._refuse(node, _("a number of {digits} digits: no setting takes one "
                                        "that long").format(digits=digits), "yaml-number")
        return int(value)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> Any:  # float, or INVALID
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            return self._refuse(node, _("'{value}' is not a finite number: write a plain "
                                        "number such as 30").format(value=node.value),
                                "yaml-number")
        return float(value)

    def construct_undefined(self, node: yaml.Node) -> Any:  # INVALID
        return self._refuse(node, _("unsupported YAML tag {tag}: remove the tag").format(
            tag=node.tag), "yaml-tag")


_CONSTRUCTORS: dict[str, Any] = {
    "bool": StrictLoader.construct_yaml_bool,
    "int": StrictLoader.construct_yaml_int,
    "map": StrictLoader.construct_yaml_map,
    "timestamp": StrictLoader.construct_yaml_str,
    "float": StrictLoader.construct_yaml_float,
    # no mailprov value has these types
    **dict.fromkeys(("binary", "set", "omap", "pairs"), StrictLoader.construct_undefined),
}
for _tag, _constructor in _CONSTRUCTORS.items():
    StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _constructor)
StrictLoader.add_constructor(None, StrictLoader.construct_undefined)


def _check_depth(text: str) -> None:
    """Refuse deep nesting before libyaml's recursive composer sees it.

    Below the root mapping, a level of nesting needs an opening bracket, a `- `,
    a `? ` or one more space of indentation (a block mapping), so a file with
    few of those and no deeply indented line is safe without a scan; others
    get an event scan, which runs in constant stack.
    """
    rough = text.count("[") + text.count("{") + text.count("- ") + text.count("? ")
    spare = MAX_DEPTH - 1 - rough  # levels left for indentation after the root mapping
    if spare >= 0 and not _indented(text, spare + 1):
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
                    raise YamlError(_too_deep(), line, column, TOO_DEEP)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _from_yaml_error(exc, text) from None


def _indented(text: str, spaces: int) -> bool:
    """Whether a line starts with `spaces` spaces; a plain substring search when `\\n` is
    the only line break (a regex tried at every character takes a second on 10 MB)."""
    if any(brk in text for brk in "\r\x85\u2028\u2029"):
        return re.search(f"(?:^|[\r\x85\u2028\u2029]) {{{spaces}}}", text,
                         re.MULTILINE) is not None
    indent = " " * spaces
    return text.startswith(indent) or "\n" + indent in text


def _too_deep() -> str:
    return _("nesting deeper than {depth} levels is not allowed").format(depth=MAX_DEPTH)


def _from_yaml_error(exc: yaml.YAMLError, text: str) -> YamlError:
    if isinstance(exc, yaml.reader.ReaderError):
        offset = exc.position
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return YamlError(_("invalid character U+{code}: control characters are not allowed "
                           "in mailprov files; remove it").format(code=f"{char:04X}"),
                         line, column, ENCODING)
    if not isinstance(exc, yaml.MarkedYAMLError):
        return YamlError(_("invalid YAML: {problem}").format(problem=exc))
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    if mark is None:
        return YamlError(_("invalid YAML: {problem}").format(problem=problem))
    if "maximum nesting depth" in problem:  # libyaml's own limit, met before ours by its scanner
        return YamlError(_too_deep(), mark.line + 1, mark.column + 1, TOO_DEEP)
    lines = text.splitlines()
    bad_line = lines[mark.line] if mark.line < len(lines) else ""
    if "\t" in bad_line[: mark.column + 1]:
        message = _("invalid YAML: tab characters cannot indent YAML; use spaces")
    elif re.search(r":\s+[{][{%#]", bad_line):
        message = _("invalid YAML: a template must be in quotes, or YAML reads its braces: "
                    "write `{example}`").format(
                        example='username: "{{ user.code | lower }}@{{ vars.domain }}"')
    else:
        # PyYAML's own words (`problem`, `context`) are English: quoted as they are
        context_mark = exc.context_mark
        if (exc.context and exc.context.startswith("while ") and context_mark is not None
                and context_mark.line != mark.line):
            message = _("invalid YAML: {problem} ({context} that starts at line {line}, "
                        "column {column})").format(problem=problem, context=exc.context,
                                                   line=context_mark.line + 1,
                                                   column=context_mark.column + 1)
        elif exc.context:
            message = _("invalid YAML: {problem} ({context})").format(problem=problem,
                                                                      context=exc.context)
        else:
            message = _("invalid YAML: {problem}").format(problem=problem)
    return YamlError(message, mark.line + 1, mark.column + 1)


def strict_read(text: str) -> tuple[dict[str, Any], list[YamlError]]:
    """read_yaml for a text the fast reader left: the same data, or the exact error."""
    _check_depth(text)  # deep nesting must not reach libyaml's recursive composer
    # YAML's own blanks only: str.strip() and splitlines() also take control characters
    # such as U+001E for blanks and line breaks, and a file of them is not "empty"
    if all(not line.strip(" \t") or line.lstrip(" \t").startswith("#")
           for line in re.split("[\r\n\x85\u2028\u2029]", text)):
        raise YamlError(_("the file is empty: start with `version: 1`"))
    loader = StrictLoader(text)
    try:
        root = loader.get_single_node()
        document = None if root is None else loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise _from_yaml_error(exc, text) from None
    finally:
        loader.dispose()
    if loader.problems:
        paths = _node_paths(root)
        loader.problems = [_with_path(problem, paths.get(id(node)))
                           for problem, node in zip(loader.problems, loader.refused, strict=True)]
    if not isinstance(document, dict):
        if loader.problems:  # a refused root value (`!!binary ...`): its own message
            raise loader.problems[0]
        # never quote the text: a mistyped path may name a file that holds a secret
        if document is None:
            text = _("the file must be a mapping of keys (version, general, users, ...), not "
                     "nothing (null)")
        elif isinstance(document, list):
            text = _("the file must be a mapping of keys (version, general, users, ...), not "
                     "a list")
        else:
            text = _("the file must be a mapping of keys (version, general, users, ...), not "
                     "a single value")
        raise YamlError(text, 1, 1)
    return document, loader.problems


def _with_path(problem: YamlError, path: tuple[Any, ...] | None) -> YamlError:
    if not path:
        return problem
    return YamlError(problem.message, problem.line, problem.column, problem.code, path)


def _node_paths(root: yaml.Node | None) -> dict[int, tuple[Any, ...]]:
    """The document path of every node (by id), the first place met for a node an alias
    repeats; a key's node has the path of its value. A merge key, and a key that is not
    text, have the path of their mapping. Run only when a value was refused."""
    found: dict[int, tuple[Any, ...]] = {}
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [] if root is None else [(root, ())]
    while stack:  # depth first, in document order; no recursion, whatever the nesting
        node, path = stack.pop()
        if id(node) in found:
            continue
        found[id(node)] = path
        children: list[tuple[yaml.Node, tuple[Any, ...]]] = []
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                text = (isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG
                        and key_node.tag == "tag:yaml.org,2002:str")
                where = (*path, key_node.value) if text else path
                children += [(key_node, where), (value_node, where)]
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, (*path, index)) for index, item in enumerate(node.value)]
        stack.extend(reversed(children))
    return found


class Positions:
    """The places of one text's values: composed once, mappings indexed on first use.

    A file with thousands of errors must not be re-parsed once per error (that
    was quadratic: a 35 KB file with 1,000 bad ports took 11 s to report).
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._root: yaml.Node | None = None
        self._composed = False
        self._keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _mapping(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        index = self._keys.get(id(node))
        if index is None:
            index = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    index.setdefault(key_node.value, (key_node, value_node))
            self._keys[id(node)] = index
        return index

    def find(self, path: tuple[Any, ...], key: bool = False) -> tuple[int, int]:
        if not self._composed:
            self._composed = True
            try:
                self._root = yaml.compose(self._text, Loader=_BaseLoader)
            except yaml.YAMLError:
                self._root = None
        node = self._root
        if node is None:
            return (0, 0)
        mark = node.start_mark
        for index, step in enumerate(path):
            last = index == len(path) - 1
            if isinstance(node, yaml.MappingNode):
                found = self._mapping(node).get(step) if isinstance(step, str) else None
                if found is None:
                    break
                node = found[0] if (last and key) else found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if step >= len(node.value):
                    break
                node = node.value[step]
            else:
                break
            mark = node.start_mark
        return (mark.line + 1, mark.column + 1)
