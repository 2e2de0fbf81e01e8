"""Issue 20.5: the metadata write-back (a copy onto itself) keeps what the object had.

An existing bucket may have ACLs enabled; a copy without grants resets the object's ACL to private
(S3 and moto alike): with ExistingBucketAcls=enabled (KEEP_OBJECT_ACL) the handler passes the grants
on. Each setting is put on an upload, the upload's event is diagnosed with the s3-metadata sink, and
the object is read back: our metadata landed, the setting is unchanged. Tags, storage class and
SSE-KMS key each failed with the write-back's kept settings emptied.

The checksum: moto keeps it on a copy whether or not it is asked to, so the test reads the copy
request the handler sent. Object Lock: moto refuses a copy carrying retention or legal-hold headers
without Content-MD5 (MissingUploadObjectWithObjectLockHeaders: PutObject's rule, applied to CopyObject).
S3 cannot ask for it: CopyObject has no body, and its API model has no Content-MD5 member (botocore
cannot send one). The `object_lock_copies_like_s3` fixture makes moto accept such a copy as S3 does.
"""


from datetime import UTC, datetime, timedelta

import pytest

from model.synthetic import LABELS
from tests.reliability.round3 import SMALL, queued_events, statuses

PREFIX = "garden-images/round3-keeps/"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def diagnose_upload(rig, key, leaf_jpeg, label=2, **put):
    body = leaf_jpeg(label, size=SMALL)
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=key, Body=body, ContentType="image/jpeg", **put)
    (event,) = [e for e in queued_events(rig) if e["Records"][0]["eventName"] != "ObjectCreated:Copy"]
    reply = rig.invoke(event)
    assert statuses(reply) == ["ok"], reply
    head = rig.s3.head_object(Bucket=rig.stack.bucket, Key=key, ChecksumMode="ENABLED")
    assert head["Metadata"].get("diagnosis-label") == LABELS[label], "the write-back did not land"
    return body, head


def public_reads(rig, key):
    grants = rig.s3.get_object_acl(Bucket=rig.stack.bucket, Key=key)["Grants"]
    return [g["Permission"] for g in grants if g["Grantee"].get("URI") == ALL_USERS]


def test_the_write_back_keeps_a_public_read_acl(make_rig, leaf_jpeg):
    # An existing bucket with ACLs enabled is deployed with ExistingBucketAcls=enabled (KEEP_OBJECT_ACL).
    rig = make_rig(sink="s3-metadata", keep_object_acl=True)
    key = PREFIX + "public.jpg"
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=key, Body=leaf_jpeg(2, size=SMALL), ACL="public-read")
    assert public_reads(rig, key) == ["READ"]
    (event,) = queued_events(rig)
    assert statuses(rig.invoke(event)) == ["ok"]
    assert rig.s3.head_object(Bucket=rig.stack.bucket, Key=key)["Metadata"].get("diagnosis-label") == LABELS[2]
    assert public_reads(rig, key) == ["READ"], "the copy onto itself made the photo private"


def test_the_write_back_keeps_tags(make_rig, leaf_jpeg):
    rig = make_rig(sink="s3-metadata")
    key = PREFIX + "tagged.jpg"
    diagnose_upload(rig, key, leaf_jpeg, Tagging="garden=north&owner=ana")
    tags = rig.s3.get_object_tagging(Bucket=rig.stack.bucket, Key=key)["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("garden", "north"), ("owner", "ana")]


def test_the_write_back_keeps_the_storage_class(make_rig, leaf_jpeg):
    rig = make_rig(sink="s3-metadata")
    _, head = diagnose_upload(rig, PREFIX + "ia.jpg", leaf_jpeg, StorageClass="STANDARD_IA")
    assert head.get("StorageClass") == "STANDARD_IA"


def test_the_write_back_keeps_the_sse_kms_key(make_rig, leaf_jpeg):
    import boto3

    rig = make_rig(sink="s3-metadata")
    key_id = boto3.client("kms").create_key(Description="round3 photo key")["KeyMetadata"]["Arn"]
    _, head = diagnose_upload(rig, PREFIX + "kms.jpg", leaf_jpeg, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
    assert head.get("ServerSideEncryption") == "aws:kms" and head.get("SSEKMSKeyId") == key_id




def test_the_write_back_keeps_the_checksum_algorithm(make_rig, leaf_jpeg):
    rig = make_rig(sink="s3-metadata")
    sent = []
    rig.container.s3.meta.events.register("before-call.s3.CopyObject", lambda params, **_: sent.append(params))
    _, head = diagnose_upload(rig, PREFIX + "sha256.jpg", leaf_jpeg, ChecksumAlgorithm="SHA256")
    assert head.get("ChecksumSHA256")
    (copy,) = sent
    # S3 computes the copy's checksum with the algorithm the request names (else its default, CRC64NVME).
    assert copy["headers"].get("x-amz-checksum-algorithm") == "SHA256"


@pytest.fixture
def object_lock_copies_like_s3(monkeypatch):
    """moto's server, in this process, lets a CopyObject carry Object Lock headers without Content-MD5, as S3 does."""
    from moto.s3.responses import S3Response
    from werkzeug.datastructures import Headers

    original = S3Response._key_response_put

    def key_response_put(self, query, key_name):
        if "x-amz-copy-source" in self.headers and "Content-MD5" not in self.headers:
            self.headers = Headers(self.headers)
            self.headers["Content-MD5"] = "not-checked-on-a-copy"
        return original(self, query, key_name)

    monkeypatch.setattr(S3Response, "_key_response_put", key_response_put)


def test_the_write_back_keeps_object_lock_retention_and_legal_hold(make_rig, leaf_jpeg, object_lock_copies_like_s3):
    import boto3

    rig = make_rig(sink="s3-metadata", versioned=True)
    boto3.client("s3").put_object_lock_configuration(
        Bucket=rig.stack.bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    _, head = diagnose_upload(rig, PREFIX + "locked.jpg", leaf_jpeg, ObjectLockMode="GOVERNANCE",
                              ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")
    assert (head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate"), head.get("ObjectLockLegalHoldStatus")) == (
        "GOVERNANCE", until, "ON")
