"""Leaf diagnosis on upload: the Lambda function."""
