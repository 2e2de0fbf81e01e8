"""One API session for the command-line clients: base URL, timeouts, SigV4 or an API key, JSON calls."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any
from urllib.parse import urlsplit

import requests

DEFAULT_API = os.environ.get("LEAF_API_URL", "http://127.0.0.1:3000")
# (connect, read): the model answers in well under a second; a cold Lambda may take a few.
TIMEOUT = (5.0, 60.0)


_FUNCTION_URL = re.compile(r"[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws")
_EXECUTE_API = re.compile(r"[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?")
# The only request headers signed: what a proxy or API Gateway itself never rewrites.
_SIGNED_HEADERS = ("content-type", "x-api-key")


class ApiError(Exception):
    """The API answered with an error, or could not be reached."""


def signing_target(url: str, region: str | None = None) -> tuple[str, str]:
    """(service, region) to sign for: `lambda` for a Function URL, `execute-api` for REST and HTTP APIs."""
    host = urlsplit(url).hostname or ""
    for pattern, service in ((_FUNCTION_URL, "lambda"), (_EXECUTE_API, "execute-api")):
        match = pattern.fullmatch(host)
        if match:
            return service, region or match.group(1)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ApiError(f"cannot tell the AWS region of {host!r} (a custom domain?): pass --region")
    return "execute-api", region


class SigV4(requests.auth.AuthBase):
    """Signs each request with botocore's SigV4 signer, as an AWS_IAM API or Function URL checks it."""

    def __init__(self, service: str, region: str, credentials: Any = None) -> None:
        self.service, self.region = service, region
        self._credentials = credentials  # botocore Credentials; None: the standard chain, read once

    def _frozen(self) -> Any:
        if self._credentials is None:
            import botocore.session

            self._credentials = botocore.session.get_session().get_credentials()
            if self._credentials is None:
                raise ApiError("--auth iam: no AWS credentials found (environment, ~/.aws, SSO or an instance role)")
        return self._credentials.get_frozen_credentials()  # refreshable ones (SSO, roles) renew themselves

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        body = request.body or b""
        headers = {name: value for name, value in request.headers.items() if name.lower() in _SIGNED_HEADERS}
        signed = AWSRequest(method=request.method, url=request.url,
                            data=body.encode("utf-8") if isinstance(body, str) else body, headers=headers)
        SigV4Auth(self._frozen(), self.service, self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        return request


def api_session(api: str, auth: str = "none", api_key: str | None = None, region: str | None = None,
                service: str | None = None) -> requests.Session:
    """A session that signs (auth="iam") and/or sends x-api-key, for every call to `api`."""
    session = requests.Session()
    if api_key:
        session.headers["x-api-key"] = api_key
    if auth == "iam":
        detected, region = signing_target(api, region)
        session.auth = SigV4(service or detected, region)
    return session


def call_json(method: str, url: str, session: requests.Session | None, *, allow: tuple[int, ...] = (200,),
              timeout: tuple[float, float] = TIMEOUT, **kwargs: Any) -> tuple[int, Any]:
    """(status, JSON body) of one API call; ApiError for any status outside `allow` or a non-JSON answer."""
    http = session or requests
    try:
        response = http.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise ApiError(f"{method} {url} timed out after {timeout[1]:.0f} s") from exc
    except requests.ConnectionError as exc:
        raise ApiError(f"cannot reach {url}: is the API running (make api)? {exc}") from exc
    try:
        payload = response.json()
    except ValueError as exc:
        raise ApiError(f"{method} {url} answered {response.status_code} with a non-JSON body: {response.text[:200]!r}") from exc
    if response.status_code not in allow:
        message = payload.get("message") if isinstance(payload, dict) else payload
        raise ApiError(f"{method} {url} answered {response.status_code}: {message}")
    return response.status_code, payload


def add_auth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", default=DEFAULT_API, help=f"API base URL (default {DEFAULT_API}, or $LEAF_API_URL)")
    parser.add_argument("--auth", choices=("none", "iam"), default="none", help="iam: sign requests with SigV4")
    parser.add_argument("--api-key", default=os.environ.get("LEAF_API_KEY"), help="send x-api-key (default $LEAF_API_KEY)")
    parser.add_argument("--region", help="region to sign for (default: from the URL, else $AWS_REGION)")
    parser.add_argument("--service", choices=("execute-api", "lambda"), help="service to sign for (default: from the URL)")


def session_from(args: argparse.Namespace) -> requests.Session:
    return api_session(args.api.rstrip("/"), args.auth, args.api_key, args.region, args.service)
