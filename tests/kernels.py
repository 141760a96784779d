"""Real Jupyter kernels for executing generated code (python3 = the venv's ipykernel, ir)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager

UTF8 = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


@dataclass
class Run:
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    displays: list[dict] = field(default_factory=list)

    def check(self, code: str = "") -> Run:
        assert self.error is None, f"{self.error}\n--- stderr:\n{self.stderr}\n--- code:\n{code}"
        return self


class Kernel:
    def __init__(self, name: str, cwd: Path):
        self.name = name
        self.manager = KernelManager(kernel_name=name)
        env = {**os.environ, **UTF8}
        self.manager.start_kernel(env=env, cwd=str(cwd))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 90) -> Run:
        run = Run()

        def hook(msg: dict) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    run.stdout += content["text"]
                else:
                    run.stderr += content["text"]
            elif kind == "error":
                run.error = f"{content['ename']}: {content['evalue']}"
            elif kind in ("display_data", "execute_result"):
                run.displays.append(content["data"])

        reply = self.client.execute_interactive(
            code, output_hook=hook, timeout=timeout, allow_stdin=False
        )
        if reply["content"]["status"] != "ok" and run.error is None:
            run.error = f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}"
        return run

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def has_kernel(name: str) -> bool:
    try:
        KernelSpecManager().get_kernel_spec(name)
        return True
    except NoSuchKernel:
        return False


def run_bash(code: str, cwd: Path, timeout: float = 90) -> Run:
    done = subprocess.run(
        ["bash", "-c", code],
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **UTF8},
    )
    run = Run(stdout=done.stdout.decode("utf-8"), stderr=done.stderr.decode("utf-8", "replace"))
    if done.returncode:
        run.error = f"bash exited with {done.returncode}"
    return run
