"""Validates a Serve deploy config (the body of PUT /api/serve/applications/) with Ray's own
pydantic models: ServeDeploySchema for the whole body, LLMConfig for every llm_configs entry.
Reads JSON on stdin; prints "ok" and exits 0, or prints the errors and exits 1."""
import json
import sys

from ray.serve.llm import LLMConfig
from ray.serve.schema import ServeDeploySchema

body = json.load(sys.stdin)
errors = []
try:
    ServeDeploySchema.model_validate(body)
except Exception as err:  # noqa: BLE001 - report whatever Ray raises
    errors.append(f"ServeDeploySchema: {err}")
for app in body.get("applications", []):
    for index, config in enumerate((app.get("args") or {}).get("llm_configs", [])):
        try:
            LLMConfig(**config)
        except Exception as err:  # noqa: BLE001
            errors.append(f"{app.get('name')}.llm_configs[{index}]: {err}")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("ok")
