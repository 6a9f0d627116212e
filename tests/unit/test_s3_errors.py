"""How S3 failures are read: error codes, HTTP statuses, and which failures are worth a retry."""

from __future__ import annotations

from botocore.exceptions import ClientError

from lifeboat.storage.s3.errors import answer_field, error_code, http_status, retryable


def _client_error(response: dict[str, object]) -> ClientError:
    return ClientError(response, "PutObject")  # type: ignore[arg-type]


def test_a_server_error_without_a_code_is_named_by_its_status_and_retried() -> None:
    exc = _client_error({"Error": {}, "ResponseMetadata": {"HTTPStatusCode": 503}})
    assert error_code(exc) == "HTTP503"
    assert http_status(exc) == 503
    assert retryable(exc)


def test_an_answer_without_code_or_status_is_a_client_error_not_retried() -> None:
    exc = _client_error({})
    assert error_code(exc) == "ClientError"
    assert http_status(exc) is None
    assert not retryable(exc)


def test_throttling_codes_are_retried_whatever_the_status() -> None:
    exc = _client_error(
        {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    )
    assert error_code(exc) == "SlowDown"
    assert retryable(exc)
    denied = _client_error(
        {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
    )
    assert not retryable(denied)


def test_transport_failures_are_retried_and_bugs_are_not() -> None:
    assert error_code(ConnectionResetError()) == "ConnectionError"
    assert retryable(ConnectionResetError())
    assert error_code(ValueError("bug")) == "ValueError"
    assert not retryable(ValueError("bug"))


def test_fields_of_answers_that_are_not_mappings_are_missing() -> None:
    assert answer_field({"a": {"b": 1}}, "a", "b") == 1
    assert answer_field({"a": "text"}, "a", "b") is None
    assert answer_field(None, "a") is None
