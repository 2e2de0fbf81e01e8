"""Route paths named in more than one place (the resolver and the OpenAPI document)."""

STORED_PREFIX = "/diagnoses/"
STORED_ROUTE = "/diagnoses/.+"  # API Gateway's {key+}: a greedy key with slashes in it
