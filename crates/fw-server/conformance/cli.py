"""flywheel-cli 18.5.1, the `fw` command, against fw-server: login, status, ls (root,
group, project, session), upload, download (a file, a project as tar, a session as zip)
and sync into a folder, every file compared byte for byte with what was uploaded.

Usage: python cli.py API_KEY DATA_DIR
"""
# python: cli
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import flywheel
from _check import check, done

API_KEY = sys.argv[1]
FW = str(Path(sys.executable).parent / "fw")
work = Path(tempfile.mkdtemp(prefix="fw-cli-"))
# The CLI keeps its key under HOME; a home of its own keeps the user's untouched.
env = dict(os.environ, HOME=str(work / "home"), PYTHONWARNINGS="ignore", NO_COLOR="1")


def fw_cli(*args, cwd=None):
    """Runs `fw ARGS…`; returns its output, failing the check on a non-zero exit."""
    done_ = subprocess.run(
        [FW, *args], env=env, cwd=cwd or work, capture_output=True, text=True, timeout=300
    )
    out = done_.stdout + done_.stderr
    check(f"fw {args[0]} exits 0", done_.returncode == 0, out)
    return out


# The data, made with the official SDK of the same virtualenv (17.x).
sdk = flywheel.Client(API_KEY)
sdk.add_group(flywheel.Group("lab", "Lab"))
project = sdk.get_group("lab").add_project(label="Study")
subject = project.add_subject(label="sub-01")
session = subject.add_session(label="ses-01")
t1 = session.add_acquisition(label="T1w")
contents = {
    "Study/FILES/protocol.csv": (project, b"a,b\n1,2\n"),
    "Study/SUBJECTS/sub-01/SESSIONS/ses-01/FILES/notes.txt": (session, "séance".encode()),
    "Study/SUBJECTS/sub-01/SESSIONS/ses-01/ACQUISITIONS/T1w/FILES/scan.nii.gz": (t1, os.urandom(300_000)),
}
for path, (container, data) in contents.items():
    container.upload_file(flywheel.FileSpec(path.rsplit("/", 1)[1], data))

out = fw_cli("login", API_KEY)
check("login names the user", "logged in as" in out, out)
out = fw_cli("status")
check("status names the site", "127.0.0.1" in out, out)

out = fw_cli("ls")
check("ls of the root lists the group", "lab" in out, out)
out = fw_cli("ls", "lab")
check("ls of a group lists its project", "Study" in out and "admin" in out, out)
out = fw_cli("ls", "lab/Study")
check("ls of a project lists subjects and files", "sub-01" in out and "files/protocol.csv" in out, out)
out = fw_cli("ls", "lab/Study/sub-01/ses-01")
check("ls of a session reads the role", "T1w" in out and "admin" in out, out)

# upload: a local file into a container, then read back through the SDK.
local = work / "local.txt"
local.write_bytes(b"uploaded by fw\n")
fw_cli("upload", str(local), "fw://lab/Study/sub-01/ses-01/T1w")
check("upload lands byte for byte", sdk.get_acquisition(t1.id).read_file("local.txt") == b"uploaded by fw\n")
contents["Study/SUBJECTS/sub-01/SESSIONS/ses-01/ACQUISITIONS/T1w/FILES/local.txt"] = (t1, b"uploaded by fw\n")

# download: one file, a project as tar, a session as zip.
fw_cli("download", "fw://lab/Study/sub-01/ses-01/T1w/files/scan.nii.gz", "-o", "scan.nii.gz")
scan = contents["Study/SUBJECTS/sub-01/SESSIONS/ses-01/ACQUISITIONS/T1w/FILES/scan.nii.gz"][1]
check("download of a file", (work / "scan.nii.gz").read_bytes() == scan)
fw_cli("download", "fw://lab/Study", "-o", "study.tar", "-y")
with tarfile.open(work / "study.tar") as tar:
    members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
expected = {
    "lab/Study/protocol.csv": b"a,b\n1,2\n",
    "lab/Study/sub-01/ses-01/notes.txt": "séance".encode(),
    "lab/Study/sub-01/ses-01/T1w/scan.nii.gz": scan,
    "lab/Study/sub-01/ses-01/T1w/local.txt": b"uploaded by fw\n",
}
check("download of a project as tar, no top folder", members == expected, sorted(members))
fw_cli("download", "fw://lab/Study/sub-01/ses-01", "--zip", "-o", "session.zip", "-y")
with zipfile.ZipFile(work / "session.zip") as z:
    zipped = {n: z.read(n) for n in z.namelist() if not n.endswith("/")}
check(
    "download of a session as zip",
    zipped == {k: v for k, v in expected.items() if "/ses-01/" in k},
    sorted(zipped),
)

# sync: the project into a folder, through POST /download/targets.
fw_cli("sync", "--no-audit-log", "-y", "fw://lab/Study", str(work / "synced"))
synced = {
    str(p.relative_to(work / "synced")): p.read_bytes()
    for p in (work / "synced").rglob("*")
    if p.is_file()
}
check(
    "sync writes every file byte for byte",
    synced == {path: data for path, (_, data) in contents.items()},
    sorted(synced),
)
# A second sync has nothing to do, and a trailing slash syncs the project's contents.
fw_cli("sync", "--no-audit-log", "-y", "fw://lab/Study", str(work / "synced"))
fw_cli("sync", "--no-audit-log", "-y", "fw://lab/Study/", str(work / "contents"))
check("sync of fw://lab/Study/ strips the project folder", (work / "contents/FILES/protocol.csv").read_bytes() == b"a,b\n1,2\n")
done()
