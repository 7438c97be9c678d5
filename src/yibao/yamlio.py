"""YAML reading that never turns a number into a binary float.

Policy and case files hold money (``300.00``) and ratios (``0.65``). PyYAML would make them floats;
this loader keeps their exact text as ``Decimal`` so that the money parser sees what was written.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml


class DecimalSafeLoader(yaml.SafeLoader):
    """SafeLoader whose floats are ``Decimal`` built from the scalar's own text."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text  # .inf / .nan: left as text so validation can name it
    return value if value.is_finite() else text


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A date that does not exist (2021-13-01) stays text, so validation can name where it is."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return str(loader.construct_scalar(node))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    """Mappings that refuse a key written twice (YAML would keep only the last one silently)."""
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"键 {key!r} 重复", key_node.start_mark
            )
        seen[key] = loader.construct_object(value_node, deep=True)
    return seen


DecimalSafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
DecimalSafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
DecimalSafeLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_yaml_text(text: str) -> Any:
    return yaml.load(text, Loader=DecimalSafeLoader)


def load_yaml_file(path: str | Path) -> Any:
    return load_yaml_text(Path(path).read_text(encoding="utf-8"))


class DecimalSafeDumper(yaml.SafeDumper):
    """SafeDumper that writes a ``Decimal`` as the plain number it is (read back exactly above)."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, text)


DecimalSafeDumper.add_representer(Decimal, _represent_decimal)


def dump_yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=DecimalSafeDumper, allow_unicode=True, sort_keys=False)
