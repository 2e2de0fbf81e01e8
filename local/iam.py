"""The function role's policy from template.yaml, resolved to local names, for an IAM-enforcing moto.

The tests give the handler the keys of a user whose inline policy is this document, so every call
the code makes is checked against what the template grants (and nothing else). The template is
resolved by local.template.Deployment, as the deploy tests resolve it.

moto checks actions and resources but not conditions: in an identity policy it evaluates a Condition
with no request values (it collects only sts:ExternalId), so every condition passes. It also files
PUT ?retention and ?legal-hold under s3:PutObject. `allows` evaluates what the template's conditions
need, so tests can check a request's real condition values against the policy.
"""

from __future__ import annotations

import re
from typing import Any

from local.template import PSEUDO_PARAMETERS, Deployment

ACCOUNT = PSEUDO_PARAMETERS["AWS::AccountId"]  # also moto's default account
REGION = PSEUDO_PARAMETERS["AWS::Region"]


def function_role_policy(images_bucket: str, table: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """Every statement of the diagnosis function's role, as one policy document.

    `images_bucket` is deployed as an existing bucket (ExistingBucketName), so the statements name it
    exactly as CloudFormation would; `table` is the results table's name.
    """
    deployment = Deployment(
        {**(parameters or {}), "ExistingBucketName": images_bucket},
        resource_values={"DiagnosisTable.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"},
    )
    resources = deployment.resources()
    (function,) = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    role_id = function["Properties"]["Role"].strip("<>").split(".", 1)[0]  # "<DiagnosisFunctionRole.Arn>"
    policies = resources[role_id]["Properties"]["Policies"]
    statements = [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]
    return {"Version": "2012-10-17", "Statement": statements}


def allows(policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """Whether `policy` allows `action` on `resource` for a request carrying `context` (condition keys).

    The part of IAM's evaluation the template uses: Allow and Deny, Action and Resource with * and ?,
    and the StringEquals, StringLike, ArnEquals and ArnLike operators. As in IAM, a key the request does
    not carry fails its condition (no ...IfExists operators here), and condition keys ignore case.
    An operator outside that set raises KeyError rather than being ignored.
    """
    values = {key.lower(): value for key, value in (context or {}).items()}
    allowed = False
    for statement in policy["Statement"]:
        if not _any_matches(statement["Action"], action, ignore_case=True):
            continue
        if not _any_matches(statement["Resource"], resource, ignore_case=False):
            continue
        if not _conditions_hold(statement.get("Condition", {}), values):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: * any run of characters (across "/"), ? one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def _any_matches(patterns: str | list[str], value: str, ignore_case: bool) -> bool:
    return any(_glob(p, value, ignore_case) for p in ([patterns] if isinstance(patterns, str) else patterns))


_OPERATORS = {
    "StringEquals": lambda expected, value: expected == value,
    "StringLike": _glob,
    "ArnEquals": lambda expected, value: expected == value,
    "ArnLike": _glob,
}


def _conditions_hold(conditions: dict[str, dict[str, Any]], values: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        compare = _OPERATORS[operator]
        for key, expected in tests.items():
            value = values.get(key.lower())
            options = [expected] if isinstance(expected, str) else expected
            if value is None or not any(compare(option, value) for option in options):
                return False
    return True
