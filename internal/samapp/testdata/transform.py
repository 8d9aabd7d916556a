"""Print template.yaml as CloudFormation receives it: after the SAM transform.

Usage: transform.py TEMPLATE PARAMETERS_JSON. Runs offline (aws-sam-translator from the
venv, no AWS call): CodeUri folders stand for the S3 objects `sam deploy` uploads.
"""
import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The transform asks IAM for managed policy ARNs only for SAM policy templates."""

    def load(self):
        return {}


def main():
    with open(sys.argv[1]) as f:
        template = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/" + resource["Properties"]["CodeUri"]
    out = transform(template, json.loads(sys.argv[2]), NoManagedPolicies())
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
