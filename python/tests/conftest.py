"""Makes `python/` (argus_serve, argus_standin) importable however pytest is started."""
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
for path in (PYTHON_DIR,):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
