"""What the private Dovecot and Postfix of the tests share: a process of our own in a
temporary directory, stopped and cleaned up when the test is done."""

import shutil
import subprocess
from pathlib import Path

from mailadmin.testing.trixie import MACHINE


class PrivateServer:
    workdir_prefix = "server-"
    stop_timeout = 10

    def __init__(self, workdir=None, root=MACHINE):
        # root: where the binaries come from (this machine, or the Trixie root; see trixie.py).
        self.root = root
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or root.mkdtemp(self.workdir_prefix))
        self.process = None

    def start(self):
        raise NotImplementedError

    def ask_to_stop(self):
        self.process.terminate()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.ask_to_stop()
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
