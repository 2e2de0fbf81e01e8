"""Run the function on this machine: embedded S3/DynamoDB/SQS (moto server), demo, invoke, API."""
