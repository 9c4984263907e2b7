"""drtool.core.redact: each form in which botocore logs a secret, a credential or a token."""

from drtool.core.redact import redact


def test_redact_scrubs_each_form_botocore_logs() -> None:
    line = (r"""b'{"SecretString": "{\\"password\\": \\"pw-1\\"}", "Name": "n"}' """
            "<SecretAccessKey>sk/1+</SecretAccessKey><SessionToken>tok==</SessionToken> "
            "{'Authorization': b'AWS4-HMAC-SHA256 Credential=AK/x, Signature=ff', 'X-Amz-Security-Token': b'tok2'} "
            "x-amz-security-token:tok3\n?X-Amz-Security-Token=tok4&a=b")
    scrubbed = redact(line)
    for value in ("pw-1", "sk/1+", "tok==", "Signature=ff", "tok2", "tok3", "tok4"):
        assert value not in scrubbed
    assert '"Name": "n"' in scrubbed and "a=b" in scrubbed
