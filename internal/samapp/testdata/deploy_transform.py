"""Print a packaged template (`sam package`) as CloudFormation creates it: after the SAM
transform, which CloudFormation applies itself and moto does not.

Usage: deploy_transform.py PACKAGED_TEMPLATE PARAMETERS_JSON. Offline (aws-sam-translator
from the venv). One change for moto alone: moto answers `Ref` of an AWS::Events::EventBus
with an object instead of the bus's name, so each such Ref becomes the equivalent
`Fn::GetAtt [EventBus, Name]`.
"""
import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The transform asks IAM for managed policy ARNs only for SAM policy templates."""

    def load(self):
        return {}


def bus_names(value, buses):
    if isinstance(value, dict):
        if len(value) == 1 and value.get("Ref") in buses:
            return {"Fn::GetAtt": [value["Ref"], "Name"]}
        return {k: bus_names(v, buses) for k, v in value.items()}
    if isinstance(value, list):
        return [bus_names(v, buses) for v in value]
    return value


def main():
    with open(sys.argv[1]) as f:
        template = yaml_parse(f.read())
    out = transform(template, json.loads(sys.argv[2]), NoManagedPolicies())
    buses = {k for k, r in out["Resources"].items() if r.get("Type") == "AWS::Events::EventBus"}
    json.dump(bus_names(out, buses), sys.stdout, indent=1)


if __name__ == "__main__":
    main()
