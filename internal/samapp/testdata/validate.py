"""Validate JSON documents against a JSON Schema (draft 4), as EventBridge's registry reads it.

Usage: validate.py SCHEMA < documents, one JSON document a line. Prints one line per
document: "ok", or the errors joined by "; ".
"""
import json
import sys

from jsonschema import Draft4Validator, FormatChecker


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    Draft4Validator.check_schema(schema)
    validator = Draft4Validator(schema, format_checker=FormatChecker())
    for line in sys.stdin:
        errors = sorted(validator.iter_errors(json.loads(line)), key=lambda e: list(e.path))
        if errors:
            print("; ".join("/".join(map(str, e.path)) + ": " + e.message for e in errors))
        else:
            print("ok")


if __name__ == "__main__":
    main()
