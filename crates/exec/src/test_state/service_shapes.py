"""Regenerates service_shapes.json: the output shapes TestState checks mocked results against.

The facts (member names, types, required members, length/value limits, enum values) come
from the AWS service API models as botocore ships them. Run with botocore installed:

    python3 service_shapes.py > service_shapes.json

Step Functions names result fields in PascalCase, so member names are capitalised here.
"""

import json
import os

import botocore
from botocore.loaders import Loader

# resource (without "arn:aws:states:::") -> (botocore service, operation, member overrides)
OPERATIONS = {
    # Optimised integrations.
    "lambda:invoke": ("lambda", "Invoke", {"Payload": "any"}),
    "dynamodb:getItem": ("dynamodb", "GetItem", {}),
    "dynamodb:putItem": ("dynamodb", "PutItem", {}),
    "dynamodb:updateItem": ("dynamodb", "UpdateItem", {}),
    "dynamodb:deleteItem": ("dynamodb", "DeleteItem", {}),
    "sqs:sendMessage": ("sqs", "SendMessage", {}),
    "sns:publish": ("sns", "Publish", {}),
    "events:putEvents": ("events", "PutEvents", {}),
    "states:startExecution": ("stepfunctions", "StartExecution", {}),
    # AWS SDK integrations.
    "aws-sdk:lambda:getFunction": ("lambda", "GetFunction", {}),
    "aws-sdk:kms:encrypt": ("kms", "Encrypt", {}),
    "aws-sdk:s3:getObject": ("s3", "GetObject", {}),
}

KEPT = ("min", "max", "enum")

# Limits as AWS's TestState applied them when the conformance corpus was recorded
# (December 2025), where newer models differ: a mocked Lambda MemorySize of 10241 was
# rejected with "exceeds the maximum value".
PINNED = {
    "lambda.MemorySize": {"max": 10240},
}


def main():
    loader = Loader()
    shapes = {}
    operations = {}
    models = {}

    def model(service):
        if service not in models:
            models[service] = loader.load_service_model(service, "service-2")
        return models[service]

    def visit(service, name):
        key = f"{service}.{name}"
        if key in shapes:
            return key
        raw = model(service)["shapes"][name]
        out = {"type": raw["type"]}
        shapes[key] = out
        for k in KEPT:
            if k in raw:
                out[k] = raw[k]
        out.update(PINNED.get(key, {}))
        if raw["type"] == "structure":
            out["members"] = {}
            for m, ref in raw.get("members", {}).items():
                out["members"][m[:1].upper() + m[1:]] = visit(service, ref["shape"])
            req = [r[:1].upper() + r[1:] for r in raw.get("required", [])]
            if req:
                out["required"] = req
        elif raw["type"] == "list":
            out["member"] = visit(service, raw["member"]["shape"])
        elif raw["type"] == "map":
            out["value"] = visit(service, raw["value"]["shape"])
        return key

    for resource, (service, op, overrides) in OPERATIONS.items():
        output = model(service)["operations"][op].get("output")
        if output is None:
            continue
        key = visit(service, output["shape"])
        if overrides:
            base = dict(shapes[key])
            base["members"] = dict(base["members"])
            for m, t in overrides.items():
                shapes.setdefault(t, {"type": t})
                base["members"][m] = t
            key = f"{key}#{resource}"
            shapes[key] = base
        operations[resource] = key

    print(json.dumps({
        "source": f"AWS service API models (botocore {botocore.__version__})",
        "operations": operations,
        "shapes": shapes,
    }, indent=None, separators=(",", ":"), sort_keys=False))


if __name__ == "__main__":
    main()
