"""Secrets from the environment are masked in text and in JSON-like data."""

from __future__ import annotations

import time

from pytest_orchestra.core.redaction import Redactor, is_secret_name


def test_secret_names_are_recognised_case_insensitively() -> None:
    for name in ("GITHUB_TOKEN", "aws_secret_access_key", "DB_PASSWORD", "db_passwd", "MYSQL_PWD",
                 "api_key", "GOOGLE_CREDENTIALS", "BasicAuth"):
        assert is_secret_name(name), name
    for name in ("PATH", "HOME", "CI", "GITHUB_SHA"):
        assert not is_secret_name(name), name


def test_from_environ_collects_only_secret_named_values_worth_masking() -> None:
    redactor = Redactor.from_environ(
        {
            "API_TOKEN": "tok-123456",
            "DB_PASSWORD": "hunter22",
            "DEBUG_KEY": "1",  # too short: masking every "1" would destroy reports
            "USE_AUTH": "TRUE",  # a flag, not a secret
            "AUTH_MODE": "off",
            "HOME": "/home/ci",
        },
        extra_values=["from-settings-xyz", "no"],
    )
    assert redactor.secrets == ("from-settings-xyz", "tok-123456", "hunter22")


def test_from_environ_defaults_to_the_process_environment(monkeypatch) -> None:
    monkeypatch.setenv("ORCHESTRA_TEST_TOKEN", "env-secret-value")
    assert "env-secret-value" in Redactor.from_environ().secrets


def test_redact_masks_every_occurrence_and_the_longest_secret_whole() -> None:
    redactor = Redactor(["abcd", "abcd-efgh-ijkl"])
    text = "token=abcd-efgh-ijkl and abcd, again abcd\n"
    assert redactor.redact(text) == "token=*** and ***, again ***\n"


def test_redact_treats_secret_values_literally_and_matches_stripped_values() -> None:
    redactor = Redactor(["a.b*c+d(e)\n"])
    assert redactor.redact("x a.b*c+d(e) y aXbbcd") == "x *** y aXbbcd"


def test_redact_without_secrets_returns_the_text_unchanged() -> None:
    text = "nothing to hide"
    assert Redactor().redact(text) is text
    assert Redactor(["absent-secret"]).redact(text) is text


def test_redact_data_masks_secret_keys_and_secret_values_in_a_deep_copy() -> None:
    redactor = Redactor(["s3cr3t-value"])
    data = {
        "settings": {"api_token": "whatever", "password": None, "use_auth": True, "name": "run"},
        "messages": ["failed with s3cr3t-value", ("tuple", "s3cr3t-value")],
        "count": 3,
        7: "non-string key s3cr3t-value",
    }
    redacted = redactor.redact_data(data)
    assert redacted == {
        "settings": {"api_token": "***", "password": None, "use_auth": True, "name": "run"},
        "messages": ["failed with ***", ("tuple", "***")],
        "count": 3,
        7: "non-string key ***",
    }
    assert data["messages"][0] == "failed with s3cr3t-value"  # the original is untouched


def test_redact_is_fast_on_a_large_text() -> None:
    redactor = Redactor([f"secret-number-{i:04d}" for i in range(50)])
    text = ("ordinary log line without anything sensitive\n" * 40_000) + "leak: secret-number-0042\n"
    started = time.perf_counter()
    redacted = redactor.redact(text)
    elapsed = time.perf_counter() - started
    assert redacted.endswith("leak: ***\n")
    assert elapsed < 0.5


def test_working_directories_and_author_names_are_not_secrets() -> None:
    from pytest_orchestra.core.redaction import Redactor as _Redactor

    redactor = _Redactor.from_environ(
        {"PWD": "/work/main", "OLDPWD": "/tmp/x", "GIT_AUTHOR_NAME": "Dana Scully", "DB_PWD": "hunter22"}
    )
    text = "cd /work/main by Dana Scully with hunter22"
    assert redactor.redact(text) == "cd /work/main by Dana Scully with ***"


def test_secrets_added_later_are_masked_for_every_holder() -> None:
    from pytest_orchestra.core.redaction import Redactor

    redactor = Redactor(["first-secret-value"])
    holder = redactor  # e.g. the recorder and the sinks share one object
    redactor.add(["pg-password-123456", "", "first-secret-value"])
    assert holder.redact("dsn=postgres://u:pg-password-123456@h first-secret-value") == "dsn=postgres://u:***@h ***"
    assert Redactor().redact("nothing") == "nothing"
