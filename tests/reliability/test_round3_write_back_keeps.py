"""Issue 20.5: the metadata write-back (a copy onto itself) keeps what the object had.

An existing bucket may have ACLs enabled; a copy without grants resets the object's ACL to private
(S3 and moto alike). Each setting is put on an upload, the upload's event is diagnosed with the
s3-metadata sink, and the object is read back: our metadata landed, the setting is unchanged.
Tags, storage class and SSE-KMS key hold today (each test failed with the write-back's kept settings
emptied). The checksum is not tested here: moto keeps it on a copy whether or not it is asked to,
so such a test could not fail. Object Lock is not tested: moto refuses the copy of a locked object
(MissingUploadObjectWithObjectLockHeaders: it applies PutObject's Content-MD5 rule to CopyObject),
so the write-back is "diagnosed, not stored" there; whether S3 does the same is for the fix to find.
"""


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


