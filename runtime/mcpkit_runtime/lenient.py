"""Lenient parsing before strict validation, driven by each tool's own input schema: what models commonly get
wrong (case and synonyms of enum values, booleans and numbers sent as strings, a single value for a list) is
fixed; what still fails gets an error listing the accepted values and an example, never a stack trace."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

TRUE = {"true", "yes", "y", "1", "on", "t"}
FALSE = {"false", "no", "n", "0", "off", "f"}
Synonyms = Mapping[str, Mapping[str, str]]  # parameter -> {synonym (case-folded): accepted value}


def normalize(
    arguments: Mapping[str, Any], schema: Mapping[str, Any], synonyms: Synonyms | None = None
) -> dict[str, Any]:
    properties = schema.get("properties", {})
    result = dict(arguments)
    for name, value in arguments.items():
        prop = _resolve(properties.get(name), schema)
        if prop is not None:
            result[name] = _coerce(value, prop, (synonyms or {}).get(name, {}), schema)
    return result


def _resolve(prop: Mapping[str, Any] | None, schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A property's effective schema: through $ref, and through Optional's anyOf [X, null]."""
    if prop is None:
        return None
    if "$ref" in prop:
        target = prop["$ref"].split("/")[-1]
        return _resolve(schema.get("$defs", {}).get(target), schema)
    if "anyOf" in prop:
        options = [_resolve(p, schema) for p in prop["anyOf"] if p.get("type") != "null"]
        if len(options) == 1:
            return options[0]
    return prop


def _coerce(
    value: Any, prop: Mapping[str, Any], synonyms: Mapping[str, str], schema: Mapping[str, Any]
) -> Any:
    kind = prop.get("type")
    if "enum" in prop and isinstance(value, str):
        return _enum(value, list(prop["enum"]), synonyms)
    if isinstance(value, str):
        text = value.strip()
        if kind == "boolean" and text.lower() in TRUE | FALSE:
            return text.lower() in TRUE
        if kind in ("integer", "number") and re.fullmatch(r"[+-]?[\d,_]*\.?\d+", text):
            number = float(text.replace(",", "").replace("_", ""))
            return int(number) if kind == "integer" and number.is_integer() else number
        if kind == "array":
            items = _resolve(prop.get("items"), schema) or {}
            if text.startswith("[") and text.endswith("]"):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    pass
            parts = [p.strip() for p in re.split(r"[,;]", text)] if items.get("type") == "string" else [text]
            return [_coerce(p, items, synonyms, schema) for p in parts if p]
    if kind == "boolean" and value in (0, 1) and not isinstance(value, bool):
        return bool(value)
    if kind == "array" and not isinstance(value, list):
        return [value]
    return value


def _enum(value: str, accepted: list[Any], synonyms: Mapping[str, str]) -> Any:
    folded = value.strip().casefold()
    for option in accepted:
        if isinstance(option, str) and option.casefold() == folded:
            return option
    if folded in synonyms:
        return synonyms[folded]
    return value


def explain(tool: str, error: ValidationError, schema: Mapping[str, Any]) -> str:
    """A validation failure as the model can act on it: each field, what is accepted, and a valid example."""
    properties = schema.get("properties", {})
    problems = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "arguments"
        prop = _resolve(properties.get(str(item["loc"][0])), schema) if item["loc"] else None
        if item["type"] == "missing":
            problems.append(f"'{field}' is required")
        elif prop is not None and "enum" in prop:
            accepted = ", ".join(repr(v) for v in prop["enum"])
            problems.append(f"'{field}' must be one of {accepted} (got {item.get('input')!r})")
        else:
            problems.append(f"'{field}': {item['msg']} (got {item.get('input')!r})")
    example = json.dumps(example_arguments(schema))
    return f"invalid arguments for {tool}: " + "; ".join(problems) + f". Example of a valid call: {example}"


def example_arguments(schema: Mapping[str, Any]) -> dict[str, Any]:
    example = {}
    required = schema.get("required", [])
    for name, raw in schema.get("properties", {}).items():
        if name not in required and "examples" not in raw:
            continue
        example[name] = (
            raw["examples"][0] if raw.get("examples") else _example_value(_resolve(raw, schema) or {}, schema)
        )
    return example


def _example_value(prop: Mapping[str, Any], schema: Mapping[str, Any]) -> Any:
    if prop.get("examples"):
        return prop["examples"][0]
    if prop.get("type") == "array":
        return [_example_value(_resolve(prop.get("items"), schema) or {}, schema)]
    if "enum" in prop:
        return prop["enum"][0]
    if prop.get("default") is not None:
        return prop["default"]
    samples = {"string": "text", "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
    return samples.get(str(prop.get("type")), "value")
