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


DecimalSafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


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
