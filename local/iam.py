"""The function role's policy from template.yaml, resolved to local names, for an IAM-enforcing moto.

The tests give the handler the keys of a user whose inline policy is this document, so every call
the code makes is checked against what the template grants (and nothing else).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.template import TEMPLATE, load_template

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
_NO_VALUE = object()
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class Deployment:
    """What CloudFormation would know: parameter values, pseudo parameters, and names of what it created."""

    parameters: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)  # logical id -> physical name (Ref)
    stack: str = "leaf-local"
    # An images bucket named otherwise than the template would name a new one (a bucket that
    # already exists): the statements name it instead of the computed name.
    images_bucket: str | None = None


class Resolver:
    def __init__(self, template: dict[str, Any], deployment: Deployment) -> None:
        self._template = template
        self._deployment = deployment
        declared = template.get("Parameters", {})
        self._parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        self._parameters.update(deployment.parameters)
        self._pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws",
                        "AWS::StackName": deployment.stack, "AWS::URLSuffix": "amazonaws.com"}

    def resolve(self, node: Any) -> Any:
        """Evaluate Ref, Fn::Sub, Fn::GetAtt, Fn::If, Fn::Join, Fn::FindInMap and the conditions."""
        if isinstance(node, list):
            return [value for value in (self.resolve(item) for item in node) if value is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (name, arg), = node.items()
            if name == "Ref":
                return self.ref(arg)
            if name == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return _SUB.sub(lambda m: str(extra[m[1]] if m[1] in extra else self._sub_name(m[1])), text)
            if name == "Fn::GetAtt":
                return self.attribute(*arg)
            if name == "Fn::If":
                condition, yes, no = arg
                return self.resolve(yes if self.condition(condition) else no)
            if name == "Fn::Join":
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if name == "Fn::FindInMap":
                table, key, item = (str(self.resolve(v)) for v in arg)
                return self._template["Mappings"][table][key][item]
        return {key: value for key, value in ((k, self.resolve(v)) for k, v in node.items()) if value is not _NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        return self.physical_name(name)

    def _sub_name(self, name: str) -> str:
        if "." in name:
            return str(self.attribute(*name.split(".", 1)))
        return str(self.ref(name))

    def physical_name(self, logical: str) -> str:
        if logical in self._deployment.names:
            return self._deployment.names[logical]
        properties = self._template["Resources"][logical].get("Properties", {})
        for key in ("BucketName", "TableName", "QueueName", "LogGroupName", "FunctionName"):
            if key in properties:
                return str(self.resolve(properties[key]))
        return f"{self._deployment.stack}-{logical}"

    def attribute(self, logical: str, attribute: str) -> str:
        kind = self._template["Resources"][logical]["Type"]
        name = self.physical_name(logical)
        arns = {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        }
        if attribute != "Arn" or kind not in arns:
            raise ValueError(f"cannot resolve !GetAtt {logical}.{attribute} ({kind}) locally")
        return arns[kind]

    def condition(self, name: str) -> bool:
        return bool(self._evaluate(self._template["Conditions"][name]))

    def _evaluate(self, node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            return self.resolve(node)
        (name, arg), = node.items()
        if name == "Fn::Equals":
            left, right = (self._evaluate(v) for v in arg)
            return str(left) == str(right)
        if name == "Fn::Or":
            return any(self._evaluate(v) for v in arg)
        if name == "Fn::And":
            return all(self._evaluate(v) for v in arg)
        if name == "Fn::Not":
            return not self._evaluate(arg[0])
        if name == "Condition":
            return self.condition(arg)
        return self.resolve(node)


def function_role_policy(deployment: Deployment, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every statement of the diagnosis function's role, resolved, as one policy document."""
    template = template or load_template(TEMPLATE)
    resolver = Resolver(template, deployment)
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    role_ref = functions[0]["Properties"]["Role"]
    role_id = role_ref["Fn::GetAtt"][0] if "Fn::GetAtt" in role_ref else role_ref["Ref"]
    policies = resolver.resolve(template["Resources"][role_id]["Properties"]["Policies"])
    statements = [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]
    if deployment.images_bucket:
        computed = f"arn:aws:s3:::{bucket_name(deployment, template)}"
        statements = json.loads(json.dumps(statements).replace(computed, f"arn:aws:s3:::{deployment.images_bucket}"))
    return {"Version": "2012-10-17", "Statement": statements}


def bucket_name(deployment: Deployment, template: dict[str, Any] | None = None) -> str:
    """The images bucket's name as the template computes it from the parameters."""
    template = template or load_template(TEMPLATE)
    resolver = Resolver(template, deployment)
    buckets = [logical for logical, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"]
    return resolver.physical_name(buckets[0])
