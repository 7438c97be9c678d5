"""Accepted values of coded fields: the edition's dictionary chapter plus a region's extensions.

A region extends a dictionary in its policy file with the parameter ``dictionary.<key>`` (a mapping
code → meaning, dated and sourced like any parameter); a meaning of ``null`` withdraws a national
code in that region. ``med_type`` also accepts every code the region maps to a category in
``settlement.med_type_category`` (a region that settles a medical type evidently accepts it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from yibao.nhsa.spec import national_dictionaries

Extension = Mapping[str, str | None]


class Dictionary:
    """Lookups for one region on one day; ``extension(key)`` gives that region's additions or None."""

    def __init__(self, extension: Callable[[str], Extension | None] | None = None):
        self._extension = extension or (lambda key: None)
        self._merged: dict[str, dict[str, str] | None] = {}

    def values(self, key: str) -> dict[str, str] | None:
        """Every accepted code with its meaning, or None when neither the edition nor the region has
        a table for ``key`` (then any value is accepted)."""
        if key not in self._merged:
            base = national_dictionaries().get(key)
            ext = self._extension(key)
            if base is None and not ext:
                self._merged[key] = None
            else:
                merged = dict(base or {})
                for code, meaning in (ext or {}).items():
                    if meaning is None:
                        merged.pop(str(code), None)
                    else:
                        merged[str(code)] = str(meaning)
                self._merged[key] = merged
        return self._merged[key]

    def accepts(self, key: str, code: str) -> bool:
        table = self.values(key)
        return table is None or code in table

    def meaning(self, key: str, code: str) -> str | None:
        table = self.values(key)
        return None if table is None else table.get(code)

    def describe(self, key: str, limit: int = 8) -> str:
        table = self.values(key) or {}
        shown = "、".join(f"{c}（{m}）" for c, m in list(table.items())[:limit])
        return shown + (f" 等{len(table)}项" if len(table) > limit else "")


NATIONAL = Dictionary()


def policy_extension(value: Callable[[str], object], med_types: Mapping[str, str] | None) -> Callable[[str], Extension]:
    """The extension lookup for a region: ``value(key)`` reads ``dictionary.<key>`` from its policy."""

    def extension(key: str) -> Extension:
        got = value(f"dictionary.{key}")
        ext: dict[str, str | None] = {str(k): (None if v is None else str(v)) for k, v in dict(got or {}).items()}
        if key == "med_type":
            national = national_dictionaries().get("med_type", {})
            for code in med_types or {}:
                if str(code) not in national:
                    ext.setdefault(str(code), "本统筹区医疗类别")
        return ext

    return extension
