"""Read template.yaml (and resolve it for given parameters), so local resources and tests cannot drift from it."""

from __future__ import annotations

import json
import re
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
    return json.loads(json.dumps(yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)))


def table_key_schema(path: Path = TEMPLATE) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """KeySchema and AttributeDefinitions of the template's one DynamoDB table."""
    resources = load_template(path)["Resources"]
    tables = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        raise ValueError(f"{path} should define exactly one DynamoDB table, found {len(tables)}")
    keys = {key["AttributeName"] for key in tables[0]["KeySchema"]}
    return tables[0]["KeySchema"], [a for a in tables[0]["AttributeDefinitions"] if a["AttributeName"] in keys]


def table_definition(path: Path = TEMPLATE) -> dict[str, Any]:
    """create_table's KeySchema, AttributeDefinitions and GlobalSecondaryIndexes, as the template defines the table."""
    resources = load_template(path)["Resources"]
    tables = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        raise ValueError(f"{path} should define exactly one DynamoDB table, found {len(tables)}")
    table = tables[0]
    definition = {"KeySchema": table["KeySchema"], "AttributeDefinitions": table["AttributeDefinitions"]}
    if table.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = [
            {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
            for index in table["GlobalSecondaryIndexes"]
        ]
    return definition


# Pseudo parameters as one example deployment sees them.
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "leaf-diagnosis",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Deployment:
    """The template as CloudFormation would see it for one set of parameters.

    Parameters are checked as CloudFormation checks them (AllowedValues, AllowedPattern, MinValue,
    MaxValue, then the template's Rules): a combination it would refuse raises ParameterError.
    Conditions, Fn::If, Ref, Fn::Sub, Fn::Join, Fn::Select, Fn::Split and Fn::FindInMap are evaluated;
    AWS::NoValue disappears. What only exists once deployed (Ref or GetAtt of a resource) becomes the
    value given in `resource_values` ("DiagnosisTable.Arn": "arn:...") or else a placeholder such as
    "<DiagnosisTable.Arn>" (a URL attribute: "https://<DiagnosisFunctionUrl.FunctionUrl>/"), so resolved
    values still show which resource they name.
    """

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        template: dict[str, Any] | None = None,
        resource_values: dict[str, str] | None = None,
    ) -> None:
        self.template = template if template is not None else load_template()
        declared = self.template["Parameters"]
        unknown = set(params or {}) - set(declared)
        if unknown:
            raise KeyError(f"not parameters of the template: {sorted(unknown)}")
        self.params = {name: (params or {}).get(name, spec.get("Default")) for name, spec in declared.items()}
        self.resource_values = resource_values or {}
        for name, spec in declared.items():
            _check_parameter(name, spec, self.params[name])
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self._evaluate_condition(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self._evaluate_condition(assertion["Assert"]):
                    raise ParameterError(f"rule {name}: {assertion.get('AssertDescription', 'assertion failed')}")

    def condition(self, name: str) -> bool:
        return bool(self._evaluate_condition(self.template["Conditions"][name]))

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources these parameters create, with their properties resolved."""
        return {
            name: self.resolve(resource)
            for name, resource in self.template["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }

    def outputs(self) -> dict[str, Any]:
        return {
            name: self.resolve(output["Value"])
            for name, output in self.template.get("Outputs", {}).items()
            if "Condition" not in output or self.condition(output["Condition"])
        }

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            fn, arg = next(iter(node.items()))
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if fn == "Fn::Sub":
                return self._sub(arg)
            if fn == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._resource_value(f"{name}.{attribute}")
            if fn == "Fn::Join":
                return self.resolve(arg[0]).join(str(v) for v in self.resolve(arg[1]))
            if fn == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if fn == "Fn::Split":
                return str(self.resolve(arg[1])).split(self.resolve(arg[0]))
            if fn == "Fn::FindInMap":
                mapping, first, second = (str(self.resolve(a)) for a in arg)
                return self.template["Mappings"][mapping][first][second]
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.params:
            return self.params[name]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        return self._resource_value(name)

    def _resource_value(self, name: str) -> str:
        resource = name.split(".", 1)[0]
        spec = self.template["Resources"].get(resource)
        if spec is None:
            raise KeyError(f"{name!r} names no parameter or resource")
        if "Condition" in spec and not self.condition(spec["Condition"]):
            raise ValueError(f"{name!r} names {resource}, which these parameters do not create")
        if name in self.resource_values:
            return self.resource_values[name]
        # A URL attribute (a Function URL's FunctionUrl) keeps a URL's shape, so Fn::Split and Fn::Select work on it.
        return f"https://<{name}>/" if name.endswith("Url") else f"<{name}>"

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name not in PSEUDO_PARAMETERS:
                return self._resource_value(name)
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _evaluate_condition(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            fn, arg = next(iter(node.items()))
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::Equals":
                return str(self._evaluate_condition(arg[0])) == str(self._evaluate_condition(arg[1]))
            if fn == "Fn::Or":
                return any(self._evaluate_condition(item) for item in arg)
            if fn == "Fn::And":
                return all(self._evaluate_condition(item) for item in arg)
            if fn == "Fn::Not":
                return not self._evaluate_condition(arg[0])
            return self.resolve(node)
        return node


_NO_VALUE = object()  # AWS::NoValue: the key or list item is left out


class ParameterError(ValueError):
    """A parameter value, or a combination of them, that CloudFormation would refuse before creating anything."""


def _check_parameter(name: str, spec: dict[str, Any], value: Any) -> None:
    if "AllowedValues" in spec and str(value) not in {str(v) for v in spec["AllowedValues"]}:
        raise ParameterError(f"{name}={value!r} is not one of {spec['AllowedValues']}")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], str(value)):
        raise ParameterError(f"{name}={value!r} does not match {spec['AllowedPattern']}")
    if spec.get("Type") == "Number":
        number = float(value)
        if number < spec.get("MinValue", number) or number > spec.get("MaxValue", number):
            raise ParameterError(f"{name}={value!r} is outside {spec.get('MinValue')}..{spec.get('MaxValue')}")
