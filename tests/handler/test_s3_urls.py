"""S3 URLs as apps store them become (bucket, key); anything else is refused, never fetched."""

import pytest

from handler.api.s3_urls import NotAnS3Url, S3Location, parse_s3_url


@pytest.mark.parametrize(
    ("url", "bucket", "key"),
    [
        ("s3://leaf-images/garden-images/a b.jpg", "leaf-images", "garden-images/a b.jpg"),
        ("https://leaf-images.s3.amazonaws.com/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://leaf-images.s3.eu-west-1.amazonaws.com/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://leaf-images.s3-external-1.amazonaws.com/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://leaf-images.s3-us-west-2.amazonaws.com/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://leaf-images.s3.dualstack.us-east-1.amazonaws.com/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://leaf-images.s3.cn-north-1.amazonaws.com.cn/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://s3.amazonaws.com/leaf-images/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://s3.us-east-2.amazonaws.com/leaf-images/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://s3-external-1.amazonaws.com/leaf-images/garden-images/a.jpg", "leaf-images", "garden-images/a.jpg"),
        ("https://my.leaf.images.s3.amazonaws.com/garden-images/a.jpg", "my.leaf.images", "garden-images/a.jpg"),
        ("HTTPS://Leaf-Images.S3.Amazonaws.com/garden-images/A.jpg", "leaf-images", "garden-images/A.jpg"),
        # Presigned: the query string is a signature, not part of the key.
        ("https://leaf-images.s3.us-east-1.amazonaws.com/garden-images/a.jpg?X-Amz-Signature=abc&X-Amz-Expires=60",
         "leaf-images", "garden-images/a.jpg"),
        # Percent-encoded by SDKs (%20, %2B), form-encoded by the console ('+' for a space).
        ("https://leaf-images.s3.amazonaws.com/garden-images/x%20y%2Bz%C3%A9.jpg", "leaf-images", "garden-images/x y+zé.jpg"),
        ("https://leaf-images.s3.amazonaws.com/garden-images/x+y.jpg", "leaf-images", "garden-images/x y.jpg"),
    ],
)
def test_stored_url_forms(url, bucket, key):
    assert parse_s3_url(url) == S3Location(bucket, key)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/leaf-images/garden-images/a.jpg",
        "https://s3.amazonaws.com.example.com/leaf-images/a.jpg",
        "https://leaf-images.s3.amazonaws.com@example.com/a.jpg",
        "https://leaf-images.s3.amazonaws.com:8443/a.jpg",
        "https://ec2.amazonaws.com/leaf-images/a.jpg",
        "https://leaf-images.s3.amazonaws.com/",
        "https://s3.amazonaws.com/leaf-images",
        "file:///etc/passwd",
        "ftp://leaf-images.s3.amazonaws.com/a.jpg",
        "data:image/jpeg;base64,AAAA",
        "javascript:alert(1)",
        "gopher://leaf-images.s3.amazonaws.com/a.jpg",
        "s3://UPPER/a.jpg",
        "s3://leaf-images",
        "leaf-images/garden-images/a.jpg",
        "",
    ],
)
def test_everything_else_is_refused(url):
    with pytest.raises(NotAnS3Url):
        parse_s3_url(url)
