"""Seeds the demo model directories under a storage root (idempotent).

  <root>/hf/demo/tiny-chat      loads and serves (valid config.json)
  <root>/hf/demo/broken-model   present, but config.json is malformed, so loading fails
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
tiny = root / "hf" / "demo" / "tiny-chat"
tiny.mkdir(parents=True, exist_ok=True)
(tiny / "config.json").write_text(json.dumps({"architectures": ["StandInEcho"], "model_type": "standin", "max_position_embeddings": 2048}, indent=2))
broken = root / "hf" / "demo" / "broken-model"
broken.mkdir(parents=True, exist_ok=True)
(broken / "config.json").write_text('{"architectures": ["StandInEcho"], "model_type": ')
