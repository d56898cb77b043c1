from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from mcpkit_runtime.lenient import example_arguments, explain, normalize
from mcpkit_runtime.redact import REDACTED, redact_arguments


class Args(BaseModel):
    to: list[str]
    unit: Literal["C", "F"] = "C"
    count: int = 1
    ratio: float = 1.0
    urgent: bool = False
    note: str | None = Field(None, examples=["call me"])


SCHEMA = Args.model_json_schema()


def test_models_common_mistakes_are_fixed_before_validation() -> None:
    fixed = normalize(
        {"to": "a@x.test, b@x.test", "unit": "celsius", "count": "1,000", "ratio": " 2.5 ", "urgent": "Yes"},
        SCHEMA,
        {"unit": {"celsius": "C", "fahrenheit": "F"}},
    )
    assert fixed == {"to": ["a@x.test", "b@x.test"], "unit": "C", "count": 1000, "ratio": 2.5, "urgent": True}
    assert Args.model_validate(fixed)


def test_case_of_enum_values_is_forgiven_and_unknown_values_left_for_validation() -> None:
    assert normalize({"unit": "f"}, SCHEMA)["unit"] == "F"
    assert normalize({"unit": "kelvin"}, SCHEMA)["unit"] == "kelvin"
    assert normalize({"to": '["a@x.test"]'}, SCHEMA)["to"] == ["a@x.test"]


def test_what_still_fails_is_explained_with_accepted_values_and_an_example() -> None:
    try:
        Args.model_validate({"unit": "kelvin", "count": "many"})
    except ValidationError as exc:
        message = explain("get_weather", exc, SCHEMA)
    assert "'to' is required" in message
    assert "'unit' must be one of 'C', 'F' (got 'kelvin')" in message
    assert "'count'" in message and "Traceback" not in message
    assert message.endswith('Example of a valid call: {"to": ["text"], "note": "call me"}')
    assert example_arguments(SCHEMA) == {"to": ["text"], "note": "call me"}


def test_secrets_and_personal_data_are_redacted_for_the_log() -> None:
    arguments = {
        "api_key": "sk-123",
        "body": "hi",
        "to": ["ann@example.com"],
        "nested": {"password": "x", "n": 4111111111111111},
    }
    assert redact_arguments(arguments, frozenset({"body"})) == {
        "api_key": REDACTED,
        "body": REDACTED,
        "to": ["[REDACTED email]"],
        "nested": {"password": REDACTED, "n": "[REDACTED card]"},
    }


def test_log_lines_are_json_whatever_the_message_holds() -> None:
    import json
    import logging

    from mcpkit_runtime.logs import JsonLineFormatter

    record = logging.LogRecord("mailer", logging.INFO, __file__, 1, 'said "hi"\nthen left', None, None)
    record.fields = {"recipients": 2}
    assert json.loads(JsonLineFormatter().format(record)) | {"time": "t"} == {
        "time": "t", "level": "info", "logger": "mailer", "message": 'said "hi"\nthen left', "recipients": 2,
    }  # fmt: skip
