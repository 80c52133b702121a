"""Validates a Serve deploy config (the body of PUT /api/serve/applications/) with Ray's own
pydantic models: ray.serve.schema.ServeDeploySchema for the whole body and
ray.serve.llm.LLMConfig for every entry of an application's args.llm_configs.

Reads JSON on stdin; prints "ok" and exits 0, or prints the errors and exits 1.
Run as: PYTHONPATH=python:python/shims .venv/bin/python python/tools/validate_serve_config.py
(python/shims lets `import ray.serve.llm` work without vLLM; LLMConfig imports server_cls, so
python/ must be on the path for the stand-in server class.)
"""
import json
import sys


def validate(body) -> list:
    from ray.serve.llm import LLMConfig
    from ray.serve.schema import ServeDeploySchema

    errors = []
    try:
        ServeDeploySchema.model_validate(body)
    except Exception as err:  # noqa: BLE001 - report whatever Ray raises
        errors.append(f"ServeDeploySchema: {err}")
    apps = body.get("applications") if isinstance(body, dict) else None
    for app in apps if isinstance(apps, list) else []:
        args = app.get("args") if isinstance(app, dict) else None
        llm_configs = args.get("llm_configs", []) if isinstance(args, dict) else []
        if not isinstance(llm_configs, list):
            errors.append(f"{app.get('name')}.args.llm_configs: not a list")
            continue
        for index, config in enumerate(llm_configs):
            try:
                LLMConfig.model_validate(config)
            except Exception as err:  # noqa: BLE001 - e.g. a bad server_cls raises AttributeError
                errors.append(f"{app.get('name')}.llm_configs[{index}]: {type(err).__name__}: {err}")
    return errors


def main() -> int:
    try:
        body = json.load(sys.stdin)
    except json.JSONDecodeError as err:
        print(f"stdin is not JSON: {err}")
        return 1
    errors = validate(body)
    if errors:
        print("\n".join(errors))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
