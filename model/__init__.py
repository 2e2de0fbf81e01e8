"""The leaf-health model: metadata, preprocessing and runtimes. Never imports boto3."""
