"""The function role's policy from template.yaml, resolved to local names, for an IAM-enforcing moto.

The tests give the handler the keys of a user whose inline policy is this document, so every call
the code makes is checked against what the template grants (and nothing else). The template is
resolved by local.template.Deployment, as the deploy tests resolve it.
"""

from __future__ import annotations

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
