"""A plain Debian Orthanc with DICOMweb (no authorization of its own) for
the gateway tests: the auth-server's [gateway] is its only door.

The shared DICOM scripts (start-orthanc.sh, stop.sh, load_samples.py) are
found through DICOM_SCRIPTS_DIR, else the shared/dicom folder beside the
checkout, else /work/shared/dicom. Without them, /usr/sbin/Orthanc or the
DICOMweb plugin, the tests skip with a notice, or fail when
AUTH_REQUIRE_CLIENTS=1 (CI).
"""

import os
import subprocess
import sys

from orthanc_harness import ORTHANC_BIN, REPO, _missing

DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
SCRIPTS = ("start-orthanc.sh", "stop.sh", "load_samples.py")
# What load_samples.py stores by default: three studies.
SAMPLES = ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm")


def scripts_dir():
    """The folder with the shared DICOM scripts, or skip/fail."""
    candidates = [os.environ.get("DICOM_SCRIPTS_DIR"), os.path.join(REPO, "..", "shared", "dicom"), "/work/shared/dicom"]
    for folder in candidates:
        if folder and all(os.path.isfile(os.path.join(folder, f)) for f in SCRIPTS):
            return os.path.abspath(folder)
    _missing(f"the shared DICOM scripts are missing (looked in {[c for c in candidates if c]})")


def require_plain_orthanc():
    if not os.access(ORTHANC_BIN, os.X_OK) or not os.path.isfile(DICOMWEB_PLUGIN):
        _missing(f"{ORTHANC_BIN} or {DICOMWEB_PLUGIN} is missing: apt-get install orthanc orthanc-dicomweb")


class PlainOrthanc:
    """One Orthanc started by the shared start-orthanc.sh in `workdir`."""

    def __init__(self, scripts, workdir, http_port, dicom_port):
        self.scripts = scripts
        self.workdir = workdir
        self.http_port = http_port
        self.dicom_port = dicom_port
        self.base = f"http://127.0.0.1:{http_port}"

    def _run(self, *args, timeout=60):
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)

    def start(self):
        done = self._run(
            "bash", os.path.join(self.scripts, "start-orthanc.sh"), str(self.http_port), str(self.dicom_port), self.workdir
        )
        if done.returncode != 0:
            raise RuntimeError(f"Orthanc did not start:\n{done.stdout}{done.stderr}")

    def load_samples(self):
        """Stores pydicom's CT_small, MR_small and rtplan through REST."""
        done = self._run(sys.executable, os.path.join(self.scripts, "load_samples.py"), "--rest", self.base)
        if done.returncode != 0:
            raise RuntimeError(f"loading the samples failed:\n{done.stdout}{done.stderr}")

    def stop(self):
        self._run("bash", os.path.join(self.scripts, "stop.sh"), self.workdir, timeout=30)
