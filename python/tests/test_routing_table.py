"""The user_config contract written by the TypeScript control plane (pure)."""
import copy
import re
from typing import Any, Dict

import pytest

from argus_serve.routing_table import RoutingConfigError, Target, parse_routing_table

CONTRACT_EXAMPLE: Dict[str, Any] = {
    "version": "7f3c",
    "models": [
        {
            "model_id": "alice-202611291752-qwen-0.5b",
            "app_name": "argus_llm_app--svc-alice-20261129-175200-k3x9--r2",
            "deployment_name": "LLMServer:alice-202611291752-qwen-0_5b",
            "candidates": [
                {"app_name": "argus_llm_app--svc-alice-20261129-175200-k3x9--r3",
                 "deployment_name": "LLMServer:alice-202611291752-qwen-0_5b"}
            ],
            "max_model_len": None,
        }
    ],
}


def test_contract_example_parses() -> None:
    table = parse_routing_table(CONTRACT_EXAMPLE)
    route = table.models["alice-202611291752-qwen-0.5b"]
    assert table.version == "7f3c" and table.max_wait_unready_s == 10.0
    assert route.routed == Target("argus_llm_app--svc-alice-20261129-175200-k3x9--r2", "LLMServer:alice-202611291752-qwen-0_5b")
    assert route.target_for_app("argus_llm_app--svc-alice-20261129-175200-k3x9--r3") == route.candidates[0]
    assert route.target_for_app("other") is None
    assert table.routes_view() == {
        "version": "7f3c",
        "models": {"alice-202611291752-qwen-0.5b": "argus_llm_app--svc-alice-20261129-175200-k3x9--r2"},
    }
    assert len(table.all_targets()) == 2


def test_optional_keys() -> None:
    config = copy.deepcopy(CONTRACT_EXAMPLE)
    config["max_wait_unready_s"] = 2.5
    del config["models"][0]["candidates"]
    config["models"][0]["max_model_len"] = 4096
    table = parse_routing_table(config)
    assert table.max_wait_unready_s == 2.5
    route = table.models["alice-202611291752-qwen-0.5b"]
    assert route.candidates == () and route.max_model_len == 4096


def _broken(path: str, value: Any) -> Dict[str, Any]:
    config = copy.deepcopy(CONTRACT_EXAMPLE)
    node: Any = config
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return config


@pytest.mark.parametrize(
    "config, match",
    [
        ([], "must be an object"),
        (_broken("version", KeyError), "version"),
        (_broken("models", {}), "models must be a list"),
        (_broken("max_wait_unready_s", 0), "max_wait_unready_s"),
    ],
)
def test_unusable_top_level_rejects_the_whole_config(config: Any, match: str) -> None:
    with pytest.raises(RoutingConfigError, match=match):
        parse_routing_table(config)


@pytest.mark.parametrize(
    "config, match",
    [
        (_broken("models.0.model_id", ""), "model_id"),
        (_broken("models.0.deployment_name", ""), "deployment_name"),
        (_broken("models.0.candidates", [{"app_name": "x"}]), r"candidates\[0\].deployment_name"),
        (_broken("models.0.max_model_len", "4k"), "max_model_len"),
    ],
)
def test_broken_model_entry_is_left_out_and_reported(config: Any, match: str) -> None:
    config["models"].append({"model_id": "bob-1-m", "app_name": "bob--r1", "deployment_name": "LLMServer:bob-1-m"})
    table = parse_routing_table(config)
    assert list(table.models) == ["bob-1-m"] and table.version == "7f3c"
    assert len(table.problems) == 1 and re.search(match, table.problems[0])


def test_duplicate_model_keeps_the_first_entry() -> None:
    config = copy.deepcopy(CONTRACT_EXAMPLE)
    config["models"].append({**config["models"][0], "app_name": "other--r9"})
    table = parse_routing_table(config)
    assert table.models["alice-202611291752-qwen-0.5b"].routed.app_name.endswith("--r2")
    assert "listed twice" in table.problems[0]


def test_unknown_keys_are_ignored() -> None:
    # The control plane may be newer than the ingress code and add keys.
    config = copy.deepcopy(CONTRACT_EXAMPLE)
    config["routing_hint"] = "x"
    config["models"][0]["engine_probe"] = "/health"
    table = parse_routing_table(config)
    assert list(table.models) == ["alice-202611291752-qwen-0.5b"] and table.problems == ()


def test_path_aliases_are_optional_and_checked() -> None:
    base = {"version": "v1", "models": []}
    assert parse_routing_table(base).user_facing("/srv/storage/x") == "/srv/storage/x"
    table = parse_routing_table({**base, "path_aliases": {"/srv/storage": "/private"}})
    assert table.user_facing("cannot read /srv/storage/hf/x") == "cannot read /private/hf/x"
    with pytest.raises(RoutingConfigError):
        parse_routing_table({**base, "path_aliases": {"": "/private"}})
    with pytest.raises(RoutingConfigError):
        parse_routing_table({**base, "path_aliases": ["/srv/storage"]})
