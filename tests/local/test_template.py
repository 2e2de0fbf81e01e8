"""local.template.Deployment: the template as CloudFormation resolves it, on a small template of known answers."""

from __future__ import annotations

import pytest

from local.template import Deployment

TEMPLATE = {
    "Parameters": {
        "Existing": {"Type": "String", "Default": ""},
        "Mode": {"Type": "String", "Default": "direct"},
        "Prefix": {"Type": "String", "Default": "images/"},
    },
    "Mappings": {"Sizes": {"direct": {"Seconds": 30}, "buffered": {"Seconds": 90}}},
    "Conditions": {
        "Create": {"Fn::Equals": [{"Ref": "Existing"}, ""]},
        "UseExisting": {"Fn::Not": [{"Condition": "Create"}]},
        "ExistingBuffered": {"Fn::And": [{"Condition": "UseExisting"}, {"Fn::Equals": [{"Ref": "Mode"}, "buffered"]}]},
    },
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Condition": "Create", "Properties": {}},
        "Queue": {"Type": "AWS::SQS::Queue", "Condition": "ExistingBuffered", "Properties": {}},
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Resource": {
                    "Fn::Sub": [
                        "arn:${AWS::Partition}:s3:::${Name}/${Prefix}*",
                        {"Name": {"Fn::If": ["UseExisting", {"Ref": "Existing"}, {"Ref": "Bucket"}]}},
                    ]
                },
                "Statements": [
                    {"Fn::If": ["ExistingBuffered", {"Queue": {"Fn::GetAtt": ["Queue", "Arn"]}}, {"Ref": "AWS::NoValue"}]},
                    "always",
                ],
                "Literal": {"Fn::Sub": "${!NotAVariable} in ${AWS::Region}"},
                "Path": {"Fn::Select": [1, {"Fn::Split": ["s3://", {"Fn::Sub": "s3://models/v1/s3://"}]}]},
                "Joined": {"Fn::Join": ["-", ["a", {"Ref": "Mode"}, {"Fn::FindInMap": ["Sizes", {"Ref": "Mode"}, "Seconds"]}]]},
            },
        },
        "Broken": {
            "Type": "AWS::SNS::Topic",
            "Condition": "UseExisting",
            "Properties": {"Uses": {"Ref": "Bucket"}},  # a bucket that UseExisting leaves out
        },
    },
}


def role(params: dict[str, str] | None = None, **values: str) -> dict:
    return Deployment(params, TEMPLATE, values).resolve(TEMPLATE["Resources"]["Role"]["Properties"])


def test_defaults_apply_and_unselected_branches_and_no_value_disappear():
    resolved = role()
    assert resolved["Resource"] == "arn:aws:s3:::<Bucket>/images/*"
    assert resolved["Statements"] == ["always"]
    assert resolved["Literal"] == "${NotAVariable} in us-east-1"
    assert resolved["Path"] == "models/v1/"
    assert resolved["Joined"] == "a-direct-30"


def test_parameters_pick_the_other_branches_and_given_resource_values_fill_in():
    resolved = role({"Existing": "photos", "Mode": "buffered"}, **{"Queue.Arn": "arn:aws:sqs:us-east-1:1:q"})
    assert resolved["Resource"] == "arn:aws:s3:::photos/images/*"
    assert resolved["Statements"] == [{"Queue": "arn:aws:sqs:us-east-1:1:q"}, "always"]
    assert resolved["Joined"] == "a-buffered-90"


def test_resources_follow_their_conditions():
    working = {**TEMPLATE, "Resources": {k: v for k, v in TEMPLATE["Resources"].items() if k != "Broken"}}
    assert set(Deployment({}, working).resources()) == {"Bucket", "Role"}
    assert set(Deployment({"Existing": "photos", "Mode": "buffered"}, working).resources()) == {"Queue", "Role"}


def test_a_reference_to_a_resource_the_parameters_leave_out_is_an_error():
    with pytest.raises(ValueError, match="names Bucket, which these parameters do not create"):
        Deployment({"Existing": "photos"}, TEMPLATE).resources()


def test_an_unknown_parameter_is_an_error():
    with pytest.raises(KeyError, match="Existng"):
        Deployment({"Existng": "photos"}, TEMPLATE)
