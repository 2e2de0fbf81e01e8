"""Read what local resources need from template.yaml, so they cannot drift from the infrastructure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that knows CloudFormation's short-form intrinsic functions (!Ref, !Sub, ...)."""


def _intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)  # !GetAtt Resource.Attribute
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """Short tags become their long forms (!Ref X -> {"Ref": "X"}); a fresh copy on every call."""
    return json.loads(json.dumps(yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)))  # noqa: S506


def table_key_schema(path: Path = TEMPLATE) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """KeySchema and AttributeDefinitions of the template's one DynamoDB table."""
    resources = load_template(path)["Resources"]
    tables = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        raise ValueError(f"{path} should define exactly one DynamoDB table, found {len(tables)}")
    return tables[0]["KeySchema"], tables[0]["AttributeDefinitions"]
