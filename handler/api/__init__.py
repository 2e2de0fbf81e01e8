"""The REST API (API Gateway proxy integration): routes, request bodies, S3 URLs, docs page."""
