"""Pydantic's validation errors, rewritten as messages an admin can act on.

Pydantic reports a location (`('rule', 3, 'then', 'catgory')`) and a terse message. We keep
the location, which `TomlLocator` turns into a line, and rewrite the message to say what is
wrong in the file's own words and what to write instead: the keys allowed at that place, the
closest known key to a misspelt one, the values a setting accepts.
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from mailintake.classifiers.tomlpos import KeyPath

# What a value of these keys looks like, for messages about a value that does not fit.
_EXAMPLES = {
    "domains": "a domain such as example.nl",
    "addresses": "an address such as name@example.nl",
    "email": "an address such as name@example.nl",
    "name": "a short name such as cat3-whole-company (letters, digits, - _ .)",
    "answer": "a template name such as user_admin_forms (letters, digits, - _ .)",
}


def _unwrap(annotation: Any) -> Any:
    """The model or container inside Optional[...] and Annotated[...]."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            choices = [arg for arg in get_args(annotation) if arg is not type(None)]
            annotation = choices[0]
        else:
            return annotation


def _model_at(root: type[BaseModel], location: KeyPath) -> type[BaseModel] | None:
    annotation: Any = root
    for part in location:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {(f.alias or name): f for name, f in annotation.model_fields.items()}
            if not isinstance(part, str) or part not in fields:
                return None
            annotation = fields[part].annotation
        elif get_origin(annotation) in (list, tuple):
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def allowed_keys(root: type[BaseModel], location: KeyPath) -> list[str]:
    model = _model_at(root, location)
    if model is None:
        return []
    return [(field.alias or name) for name, field in model.model_fields.items()]


def _where(location: KeyPath) -> str:
    named = [str(part) if isinstance(part, str) else f"[{part}]" for part in location]
    return ".".join(named).replace(".[", "[") or "the file"


def pydantic_problems(
    error: ValidationError, root: type[BaseModel], *, prefix: KeyPath = (), label: str = ""
) -> list[tuple[KeyPath, str]]:
    """(key path, message with a fix) for each error pydantic found. `prefix` is the path of
    the validated part in the file and `label` how messages name it (e.g. 'rule "cat3"')."""
    problems: list[tuple[KeyPath, str]] = []

    def where(location: KeyPath) -> str:
        inner = _where(location) if location else ""
        outer = label or _where(prefix)
        if outer == "the file":
            return inner or outer
        return f"{outer}: {inner}" if inner else outer

    for item in error.errors():
        location: tuple[str | int, ...] = tuple(item["loc"])
        kind = item["type"]
        key = next((str(part) for part in reversed(location) if isinstance(part, str)), "")
        if kind == "extra_forbidden":
            allowed = allowed_keys(root, location[:-1])
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            message = (
                f"unknown key '{key}' in {where(location[:-1])}{hint}; "
                f"allowed: {', '.join(allowed)}"
            )
        elif kind == "missing":
            message = f"missing key '{key}' in {where(location[:-1])}; add {key} = …"
        elif kind == "string_pattern_mismatch":
            example = _EXAMPLES.get(key, "a value of the documented form")
            message = f"{where(location)}: {item['input']!r} is not {example}"
        elif kind in ("literal_error", "enum"):
            message = f"{where(location)}: {item['input']!r} is not allowed; {item['msg'].lower()}"
        else:
            message = f"{where(location)}: {item['msg']} (got {item.get('input')!r})"
        problems.append(((*prefix, *location), message))
    return problems
