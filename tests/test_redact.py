"""Redaction: secrets are masked by field name and by value, everywhere."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from ssopoc import redact

CANARY = "canary-0b1c2d3e4f5a6978"


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    redact.register(CANARY)
    yield
    redact.forget_all()


def test_secret_headers_are_masked() -> None:
    masked = redact.headers(
        [("Authorization", "Bearer abc.def"), ("Cookie", "s=1"), ("Accept", "x")]
    )
    assert masked == {"Authorization": "***", "Cookie": "***", "Accept": "x"}


def test_json_fields_named_like_secrets_are_masked() -> None:
    body = {
        "access_token": "opaque-token-value",
        "token_type": "Bearer",
        "expires_in": 3599,
        "passwordProfile": {"password": "Pa55word!x"},
        "user": {"client_secret": "s3cr3t-value"},
    }
    masked = redact.data(body)
    assert masked["access_token"] == "***"
    assert masked["token_type"] == "Bearer"
    assert masked["expires_in"] == 3599
    assert masked["passwordProfile"] == "***"
    assert masked["user"]["client_secret"] == "***"


def test_key_value_pairs_of_graph_sync_secrets_are_masked() -> None:
    # Graph's PUT .../synchronization/secrets body: [{"key": "SecretToken", ...}]
    body = {
        "value": [
            {"key": "BaseAddress", "value": "https://x"},
            {"key": "SecretToken", "value": "abc123456"},
        ]
    }
    masked = redact.data(body)
    assert masked["value"][0]["value"] == "https://x"
    assert masked["value"][1]["value"] == "***"


def test_registered_values_are_masked_anywhere_in_text() -> None:
    assert redact.text(f"x {CANARY} y") == "x *** y"
    assert redact.data({"note": f"it was {CANARY}"}) == {"note": "it was ***"}


def test_url_encoded_registered_value_is_masked() -> None:
    redact.register("a b/c+d=secret")
    assert "secret" not in redact.url("https://h/p?q=a%20b%2Fc%2Bd%3Dsecret")


def test_form_bodies_and_query_strings_are_masked() -> None:
    body = "client_id=abc&client_secret=xyz123456&grant_type=client_credentials"
    masked = redact.form(body)
    assert "xyz123456" not in masked
    assert "client_id=abc" in masked
    assert "xyz" not in redact.url("https://h/cb?code=1&access_token=xyz")


def test_bearer_basic_and_jwt_shapes_are_masked_without_registration() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlAAAA"
    assert jwt not in redact.text(f"token {jwt}")
    assert "dXNlcjpwYXNz" not in redact.text(
        "Authorization: Basic dXNlcjpwYXNzd29yZA=="
    )


def test_logging_filter_masks_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redact.RedactingFilter())
    logger = logging.getLogger("ssopoc.test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("calling with %s", CANARY)
        try:
            raise ValueError(f"bad value {CANARY}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert CANARY not in output
    assert output.count("***") == 2
    assert "ValueError" in output


def test_short_values_are_not_registered() -> None:
    redact.register("abc")
    assert redact.text("abc") == "abc"
