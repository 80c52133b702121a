"""The stand-in's answers that tests rely on: an echo, and whether a variable reached the replica."""
import pytest

from argus_standin.server import _reply_to


def test_echoes_the_prompt() -> None:
    assert _reply_to("hello there") == "echo: hello there"


def test_says_whether_a_variable_is_set_never_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_FLAG", "s3cret")
    monkeypatch.delenv("NOT_GIVEN_HERE", raising=False)
    assert _reply_to("env? TEAM_FLAG") == "TEAM_FLAG is set"
    assert _reply_to("env? NOT_GIVEN_HERE") == "NOT_GIVEN_HERE is not set"
    assert "s3cret" not in _reply_to("env? TEAM_FLAG")
