"""OpenAI error JSON answers and the summary of Ray's failure messages (pure)."""
import json
from pathlib import Path

from argus_serve import openai_errors as errors
from argus_serve.openai_errors import summarize_failure

FIXTURES = Path(__file__).parent / "fixtures"

# Shape of a real DEPLOY_FAILED message (Ray 2.58): a wrapper RuntimeError around the traceback of
# the replica constructor; the innermost error is the last line. Ray colours the actor name.
NESTED = (
    "The deployment failed to start 3 times in a row. This may be due to a problem with its "
    "constructor or initial health check failing. See controller logs for details. Error:\n"
    "\x1b[36mray::ServeReplica:c:Boom.initialize_and_get_metadata()\x1b[39m (pid=6918)\n"
    '  File "replica.py", line 1888, in initialize\n'
    "    raise RuntimeError(traceback.format_exc()) from None\n"
    "RuntimeError: Traceback (most recent call last):\n"
    '  File "hello.py", line 18, in __init__\n'
    '    raise RuntimeError("boom: constructor failed on purpose")\n'
    "RuntimeError: boom: constructor failed on purpose\n"
)


def test_summary_is_the_innermost_error_line() -> None:
    assert summarize_failure(NESTED) == "RuntimeError: boom: constructor failed on purpose"


def test_summary_strips_ansi_colours() -> None:
    assert summarize_failure("\x1b[31mValueError: bad\x1b[0m") == "ValueError: bad"


def test_summary_recognises_qualified_and_wrapped_errors() -> None:
    assert summarize_failure("x\nray.exceptions.RayTaskError(ValueError): nope\n") == (
        "ray.exceptions.RayTaskError(ValueError): nope"
    )
    assert summarize_failure("...\nModuleNotFoundError: No module named 'nosuchmodule'\n") == (
        "ModuleNotFoundError: No module named 'nosuchmodule'"
    )


def test_summary_falls_back_to_the_last_line_and_is_bounded() -> None:
    assert summarize_failure("first\nsomething odd happened\n\n") == "something odd happened"
    assert summarize_failure("") == ""
    long = summarize_failure("RuntimeError: " + "x" * 1000)
    assert len(long) == 300 and long.endswith("...")


def test_summary_of_a_recorded_failure() -> None:
    details = json.loads((FIXTURES / "get-applications-with_failed_D.json").read_text())
    message = details["applications"]["model-D"]["deployments"]["StandInLLMServer:D"]["message"]
    assert summarize_failure(message) == (
        "RuntimeError: stand-in engine told to fail on start (standin_fail_on_start)"
    )


def test_error_body_is_openai_shaped() -> None:
    error = errors.model_not_found("m-1.0")
    assert error.status_code == 404
    assert error.body() == {
        "error": {
            "message": "The model 'm-1.0' is not served here. GET /v1/models lists the models that are.",
            "type": "NotFoundError",
            "code": "model_not_found",
        }
    }
    response = error.response()
    assert response.status_code == 404 and json.loads(response.body) == error.body()


def test_starting_answer_has_retry_after_and_names_the_model() -> None:
    error = errors.model_starting("m-1.0", "deployment UPDATING, 0/1 replicas running")
    assert (error.status_code, error.error_type, error.code) == (503, "ServiceUnavailableError", "model_starting")
    assert error.response().headers["retry-after"] == "5"
    assert error.message == "model m-1.0 is starting (deployment UPDATING, 0/1 replicas running); retry in a few seconds"


def test_starting_answer_shows_the_error_ray_is_retrying_after() -> None:
    error = errors.model_starting("m", "deployment UPDATING, 0/1 replicas running", "Retrying...\nRuntimeError: boom")
    assert "last error: RuntimeError: boom" in error.message
    quiet = errors.model_starting("m", "deployment UPDATING, 0/1 replicas running", "Deploying new version.")
    assert "last error" not in quiet.message


def test_failed_answer_names_model_and_cause() -> None:
    error = errors.model_failed("m-1.0", "application DEPLOY_FAILED, deployment DEPLOY_FAILED", NESTED)
    assert (error.status_code, error.error_type, error.code) == (503, "ServiceUnavailableError", "model_failed")
    assert error.message.startswith("model m-1.0 failed to start")
    assert error.message.endswith("RuntimeError: boom: constructor failed on purpose")
    assert "Retry-After" not in error.headers


def test_probe_answers_name_the_revision_app() -> None:
    assert "revision app app--r3" in errors.model_starting("m", "x", app_name="app--r3").message
    error = errors.revision_not_found("m", "app--r9", ["app--r2", "app--r3"])
    assert (error.status_code, error.code) == (404, "revision_not_found")
    assert "app--r2, app--r3" in error.message
