"""The metadata write-back keeps every setting the object had, or writes nothing and says why.

moto keeps storage class, SSE-KMS key and bucket key, object lock, website redirect, content
headers and tags through a copy exactly when the request names them, so those are checked on the
object. moto copies a checksum whatever the request says, so the checksum algorithm is checked on the
request. What moto cannot play (SSE-C, archived objects, a refused copy) is answered by a Stubber.
"""

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from handler.domain import ObjectRef
from handler.errors import MetadataNotWritten, TransientError
from handler.object_metadata import S3MetadataStore
from handler.objects import ObjectReader
from model.synthetic import LABELS

LOCKED = "leaf-images-locked"
KEY = "garden-images/settings/leaf.jpg"


def copy_params(s3):
    """The parameters of every CopyObject call the client makes."""
    sent = []
    s3.meta.events.register("provide-client-params.s3.CopyObject", lambda params, **_: sent.append(dict(params)))
    return sent


def test_the_write_back_keeps_every_setting_the_object_had(aws, container, leaf_jpeg):
    s3 = aws["s3"]
    kms_key = __import__("boto3").client("kms").create_key()["KeyMetadata"]["Arn"]
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    settings = {
        "StorageClass": "STANDARD_IA", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key,
        "BucketKeyEnabled": True, "WebsiteRedirectLocation": "/garden/leaf.html",
        "CacheControl": "max-age=600", "ContentLanguage": "fr", "ContentDisposition": "inline",
        "ContentEncoding": "identity", "Expires": expires,
    }
    put = s3.put_object(Bucket="leaf-images-test", Key=KEY, Body=leaf_jpeg(3), ContentType="image/jpeg",
                        Metadata={"owner": "ann"}, Tagging="garden=north&season=spring", ChecksumAlgorithm="SHA256",
                        **settings)
    sent = copy_params(container.s3)
    outcome = container.diagnoser.diagnose(ObjectRef(bucket="leaf-images-test", key=KEY, etag=put["ETag"].strip('"')))
    assert outcome.status == "ok" and outcome.record.label == LABELS[3]
    head = s3.head_object(Bucket="leaf-images-test", Key=KEY, ChecksumMode="ENABLED")
    assert head["Metadata"]["diagnosis-label"] == LABELS[3] and head["Metadata"]["owner"] == "ann"
    for name, value in settings.items():
        assert head[name] == value, name
    assert head["ContentType"] == "image/jpeg" and head["ChecksumSHA256"]
    tags = s3.get_object_tagging(Bucket="leaf-images-test", Key=KEY)["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("garden", "north"), ("season", "spring")]
    (params,) = sent  # moto copies a checksum whatever the request says: the request must name it
    assert params["ChecksumAlgorithm"] == "SHA256" and params["TaggingDirective"] == "COPY"


def test_the_write_back_keeps_object_lock_settings(aws, leaf_jpeg):
    # moto refuses any PUT with object-lock headers and no body checksum, copies included (S3 asks
    # that of uploads only), so the copy is checked as a request: the settings read are the ones sent.
    s3 = aws["s3"]
    s3.create_bucket(Bucket=LOCKED, ObjectLockEnabledForBucket=True)
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    put = s3.put_object(Bucket=LOCKED, Key=KEY, Body=leaf_jpeg(2), ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")
    obj = ObjectReader(s3, 10_000_000).fetch(ObjectRef(bucket=LOCKED, key=KEY, etag=put["ETag"].strip('"')))
    sent = copy_params(s3)
    from tests.handler.test_stores import RECORD

    with Stubber(s3) as stub:
        stub.add_response("copy_object", {})
        S3MetadataStore(s3).save(RECORD, obj)
    (params,) = sent
    assert (params["ObjectLockMode"], params["ObjectLockRetainUntilDate"], params["ObjectLockLegalHoldStatus"]) == (
        "GOVERNANCE", until, "ON")


def test_metadata_over_s3s_2_kb_limit_is_not_written_and_the_table_says_why(aws, container, leaf_jpeg):
    s3 = aws["s3"]
    notes = {f"note-{i}": "x" * 180 for i in range(11)}  # 2,035 bytes of the user's own metadata
    put = s3.put_object(Bucket="leaf-images-test", Key=KEY, Body=leaf_jpeg(1), Metadata=notes)
    ref = ObjectRef(bucket="leaf-images-test", key=KEY, etag=put["ETag"].strip('"'))
    sent = copy_params(container.s3)
    outcome = container.diagnoser.diagnose(ref)
    assert outcome.status == "ok" and outcome.metric == "MetadataNotWritten"
    item = container.table.get(ref.uri)
    assert item["label"] == LABELS[1] and "over S3's 2 KB limit" in item["metadata_not_written"]
    assert sent == [] and s3.head_object(Bucket="leaf-images-test", Key=KEY)["Metadata"] == notes


def test_an_expired_object_lock_retention_is_not_sent_with_the_copy(aws, leaf_jpeg):
    s3 = aws["s3"]
    put = s3.put_object(Bucket="leaf-images-test", Key=KEY, Body=leaf_jpeg(0))
    obj = ObjectReader(s3, 10_000_000).fetch(ObjectRef(bucket="leaf-images-test", key=KEY, etag=put["ETag"].strip('"')))
    past = datetime.now(UTC) - timedelta(days=1)
    obj.copy_parameters.update(ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=past, ObjectLockLegalHoldStatus="ON")
    sent = copy_params(s3)
    from tests.handler.test_stores import RECORD

    with Stubber(s3) as stub:
        stub.add_response("copy_object", {})
        S3MetadataStore(s3).save(RECORD, obj)
    (params,) = sent
    assert "ObjectLockMode" not in params and "ObjectLockRetainUntilDate" not in params
    assert params["ObjectLockLegalHoldStatus"] == "ON"  # a legal hold has no date: it is kept


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("AccessDenied", 403, MetadataNotWritten),  # e.g. object lock or tags the role may not set
    ("MetadataTooLarge", 400, MetadataNotWritten),
    ("InvalidArgument", 400, MetadataNotWritten),
    ("SlowDown", 503, TransientError),
    ("InternalError", 500, TransientError),
])
def test_a_refused_copy_is_a_reason_not_a_retry_and_a_fault_is_a_retry(aws, leaf_jpeg, code, status, expected):
    s3 = aws["s3"]
    put = s3.put_object(Bucket="leaf-images-test", Key=KEY, Body=leaf_jpeg(0))
    obj = ObjectReader(s3, 10_000_000).fetch(ObjectRef(bucket="leaf-images-test", key=KEY, etag=put["ETag"].strip('"')))
    from tests.handler.test_stores import RECORD

    with Stubber(s3) as stub:
        stub.add_client_error("copy_object", service_error_code=code, http_status_code=status)
        with pytest.raises(expected):
            S3MetadataStore(s3).save(RECORD, obj)


@pytest.mark.parametrize(("code", "message", "reason", "rejection"), [
    ("InvalidRequest", ("The object was stored using a form of Server Side Encryption. The correct parameters "
                        "must be provided to retrieve the object."), "customer-provided key (SSE-C)", "final"),
    # Archived: a restore lifts it (issue 20.4), so the rejection is recorded as conditional.
    ("InvalidObjectState", "The operation is not valid for the object's storage class", "archived", "conditional"),
])
def test_objects_that_cannot_be_read_without_what_we_do_not_have_are_rejected_not_retried(
        aws, container, code, message, reason, rejection):
    ref = ObjectRef(bucket="leaf-images-test", key=KEY, etag="0123456789abcdef0123456789abcdef")
    with Stubber(container.s3) as stub:
        stub.add_client_error("get_object", service_error_code=code, service_message=message, http_status_code=400)
        # Before the commit: is the key's current object still the one diagnosed (issue 20.1)?
        stub.add_response("head_object", {"ETag": f'"{ref.etag}"'}, {"Bucket": ref.bucket, "Key": ref.key})
        outcome = container.diagnoser.diagnose(ref)
    assert outcome.status == "rejected" and reason in outcome.reason
    stored = container.table.get(ref.uri)
    assert (stored["status"], stored["rejection"]) == ("rejected", rejection)
