import copy

from kit.image.schema_lock import breaking_allowed, diff

BASE = {
    "server": "weather",
    "version": "1.4.0",
    "tools": {
        "get_weather": {
            "input_schema": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"enum": ["C", "F"], "type": "string"},
                    "days": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                },
                "required": ["city"],
            },
            "output_schema": {
                "type": "object",
                "properties": {"temperature": {"type": "number"}, "summary": {"type": "string"}},
            },
        }
    },
    "resources": ["weather://stations"],
}


def _changed(mutate) -> list:
    new = copy.deepcopy(BASE)
    mutate(new)
    return diff(BASE, new)


def _tool(snapshot: dict) -> dict:
    return snapshot["tools"]["get_weather"]


def _breaking(changes: list) -> list[str]:
    return [c.detail for c in changes if c.breaking]


def test_identical_schemas_have_no_changes() -> None:
    assert diff(BASE, copy.deepcopy(BASE)) == []


def test_each_breaking_class_is_caught() -> None:
    assert _breaking(_changed(lambda s: s["tools"].pop("get_weather"))) == ["tool removed"]
    assert _breaking(_changed(lambda s: _tool(s)["input_schema"]["properties"].pop("unit"))) == [
        "parameter 'unit' removed"
    ]
    assert _breaking(_changed(lambda s: _tool(s)["input_schema"]["properties"].update(country={"type": "string"})
                              or _tool(s)["input_schema"]["required"].append("country"))) == ["required parameter 'country' added"]  # fmt: skip
    assert _breaking(_changed(lambda s: _tool(s)["input_schema"]["required"].append("unit"))) == [
        "parameter 'unit' became required"
    ]
    assert _breaking(
        _changed(lambda s: _tool(s)["input_schema"]["properties"].update(city={"type": "integer"}))
    ) == ["parameter 'city' narrowed: type string -> integer"]
    assert _breaking(
        _changed(lambda s: _tool(s)["input_schema"]["properties"].update(days={"type": "integer"}))
    ) == ["parameter 'days' narrowed: type integer/null -> integer"]
    assert _breaking(
        _changed(lambda s: _tool(s)["input_schema"]["properties"]["unit"].update(enum=["C"]))
    ) == ["parameter 'unit' narrowed: values no longer accepted: F"]
    assert _breaking(_changed(lambda s: _tool(s)["output_schema"]["properties"].pop("summary"))) == [
        "output field 'summary' removed"
    ]
    assert _breaking(_changed(lambda s: s["resources"].clear())) == ["resource removed"]


def test_additive_changes_pass() -> None:
    def grow(s: dict) -> None:
        _tool(s)["input_schema"]["properties"]["lang"] = {"type": "string"}
        _tool(s)["input_schema"]["properties"]["unit"]["enum"].append("K")
        _tool(s)["output_schema"]["properties"]["humidity"] = {"type": "number"}
        s["tools"]["get_forecast"] = {"input_schema": {"properties": {}}, "output_schema": None}
        s["resources"].append("weather://alerts")

    changes = _changed(grow)
    assert changes and not _breaking(changes)


def test_a_rename_to_a_versioned_name_is_not_a_removal() -> None:
    changes = _changed(lambda s: s["tools"].update(get_weather_v2=s["tools"].pop("get_weather")))
    assert [(c.tool, c.detail, c.breaking) for c in changes] == [
        ("get_weather", "renamed to get_weather_v2", False),
        ("get_weather_v2", "tool added", False),
    ]


def test_a_major_version_bump_announces_breaking_changes() -> None:
    bumped = copy.deepcopy(BASE) | {"version": "2.0.0"}
    assert breaking_allowed(BASE, bumped) and not breaking_allowed(
        BASE, copy.deepcopy(BASE) | {"version": "1.9.0"}
    )
