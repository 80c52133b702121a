"""Validates a Serve deploy config (the body of PUT /api/serve/applications/) with Ray's own
pydantic models: ray.serve.schema.ServeDeploySchema for the whole body and
ray.serve.llm.LLMConfig for every entry of an application's args.llm_configs. Every entry of an
LLM application's `deployments` overrides must name a deployment the builder creates
(`<ServerClass>:<model_id with / replaced by -->`, or the ingress); Ray would otherwise fail the
whole application at build time.

Reads JSON on stdin; prints "ok" and exits 0, or prints the errors and exits 1.
Run as: PYTHONPATH=python:python/shims .venv/bin/python python/tools/validate_serve_config.py
(python/shims lets `import ray.serve.llm` work without vLLM; LLMConfig imports server_cls, so
python/ must be on the path for the stand-in server class.)
"""
import json
import sys


def deployment_name(llm_config) -> str:
    server_cls = llm_config.server_cls
    if isinstance(server_cls, str):
        class_name = server_cls.split(":")[-1].split(".")[-1]
    elif server_cls is not None:
        class_name = server_cls.__name__
    else:
        class_name = "LLMServer"
    return f"{class_name}:{llm_config.model_id.replace('/', '--')}"


def validate(body) -> list:
    from ray.serve.config import AutoscalingConfig
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
        built = {"OpenAiIngress"}
        for index, config in enumerate(llm_configs):
            try:
                llm_config = LLMConfig.model_validate(config)
            except Exception as err:  # noqa: BLE001 - e.g. a bad server_cls raises AttributeError
                errors.append(f"{app.get('name')}.llm_configs[{index}]: {type(err).__name__}: {err}")
                continue
            built.add(deployment_name(llm_config))
        if llm_configs:
            for override in app.get("deployments") or []:
                name = override.get("name") if isinstance(override, dict) else None
                if name not in built:
                    errors.append(f"{app.get('name')}.deployments: {name} is not a deployment the builder creates ({sorted(built)})")
                # ServeDeploySchema keeps autoscaling_config as a plain dict; the controller
                # parses it later and would fail the whole application.
                autoscaling = override.get("autoscaling_config") if isinstance(override, dict) else None
                if isinstance(autoscaling, dict):
                    try:
                        AutoscalingConfig.model_validate(autoscaling)
                    except Exception as err:  # noqa: BLE001
                        errors.append(f"{app.get('name')}.deployments[{name}].autoscaling_config: {err}")
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
