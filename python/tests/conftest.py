"""Makes `python/` (argus_serve, argus_standin) and `python/shims/` (the sglang stand-in that lets
`import ray.serve.llm` work without vLLM) importable however pytest is started."""
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
for path in (PYTHON_DIR, PYTHON_DIR / "shims"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
