"""Lazy package exports (PEP 562), so importing a part's package costs nothing until a name is used.

The CLI imports every part's commands at start-up; a package ``__init__`` that imported its
modules eagerly would pull the OTel SDK or torch into ``rootspan attribute``. Each package lists
its public names with the submodule that defines them and gets ``__getattr__``/``__dir__`` here.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(
    namespace: dict[str, Any], exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package whose ``globals()`` is ``namespace``.

    ``exports`` maps each public name to the submodule (relative to the package) defining it.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        submodule = exports.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
