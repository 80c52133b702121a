"""Validates a Serve deploy config (the body of PUT /api/serve/applications/) with Ray's own
pydantic models: ray.serve.schema.ServeDeploySchema for the whole body and
ray.serve.llm.LLMConfig for every entry of an application's args.llm_configs. Every entry of an
LLM application's `deployments` overrides must name a deployment the builder creates
(as Ray's own builder names it: `<ServerClass>:<model_id>` with `/` replaced by `--` and `.` by
`_`, or the ingress); Ray would otherwise fail the whole application at build time.

Reads JSON on stdin; prints "ok" and exits 0, or prints the errors and exits 1.
Run as: PYTHONPATH=python:python/shims .venv/bin/python python/tools/validate_serve_config.py
(LLMConfig imports server_cls, so python/ must be on the path for the stand-in server class.
vLLM, torch and transformers are kept out, as in the stand-in's replicas: Ray's schemas need none
of them, and importing them would cost each run 6 s; python/shims stands in for vLLM's protocol
module.)
"""
import json
import logging
import sys

from argus_standin.worker_setup import without_vllm

without_vllm()


def deployment_name(llm_config) -> str:
    """The name Ray's own builder (build_llm_deployment) gives this model's deployment.

    The stock LLMServer computes its deployment options through vLLM; where vLLM is not
    installed, a class of the same name whose options come from the stand-in builds it instead.
    The name depends only on the class name and the LLMConfig, so it is the same either way.
    """
    from ray.llm._internal.serve.core.server.builder import build_llm_deployment

    deployment_cls = llm_config.server_cls
    if deployment_cls is None or isinstance(deployment_cls, str):
        deployment_cls = _stock_server_cls()
    return build_llm_deployment(llm_config, deployment_cls=deployment_cls)._bound_deployment.name


def _stock_server_cls():
    from ray.llm._internal.serve.core.server.llm_server import LLMServer

    try:
        import vllm  # noqa: F401
    except ImportError:
        from argus_standin.server import StandInLLMServer

        return type(LLMServer.__name__, (StandInLLMServer,), {})
    return LLMServer


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
        # A stock app lists every model in args.llm_configs; a model app of the product holds one in args.llm_config.
        llm_configs = args.get("llm_configs", [args["llm_config"]] if "llm_config" in args else []) if isinstance(args, dict) else []
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
                    errors.append(f"{app.get('name')}.deployments: {name} is not a deployment the builder creates ({len(built)} created, e.g. {sorted(built)[:3]})")
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
    # The builder logs every deployment's options; only the verdict belongs on stdout.
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.serve").setLevel(logging.ERROR)
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
