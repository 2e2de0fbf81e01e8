"""Read what local resources need from template.yaml, so they cannot drift from the infrastructure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short tags (!Ref, !Sub, ...) as {'Tag': value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def table_key_schema(path: Path = TEMPLATE) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """KeySchema and AttributeDefinitions of the template's one DynamoDB table."""
    resources = load_template(path)["Resources"]
    tables = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        raise ValueError(f"{path} should define exactly one DynamoDB table, found {len(tables)}")
    return tables[0]["KeySchema"], tables[0]["AttributeDefinitions"]
