"""flywheel-sdk 17.8.0 (the SDK flywheel-cli 18.5.1 pins) against fw-server: what changed
since: info written with POST (SDKs before 20), role actions it can parse, the version
fields, resolve of the root; and the everyday calls.

Usage: python sdk17.py API_KEY DATA_DIR
"""
# python: cli
import sys
from importlib.metadata import version as installed

import flywheel
from _check import check, done

API_KEY = sys.argv[1]
check("flywheel-sdk 17", installed("flywheel-sdk").startswith("17."), installed("flywheel-sdk"))

fw = flywheel.Client(API_KEY)
check("the client logs in", fw.get_current_user().id == "admin@local")
fw.add_group(flywheel.Group("old", "Old SDK"))
project = fw.get_group("old").add_project(label="P17")
subject = project.add_subject(label="s1")
session = subject.add_session(label="ses1")
acquisition = session.add_acquisition(label="T1w")
check("a hierarchy is created", fw.lookup("old/P17/s1/ses1/T1w").id == acquisition.id)

# Info: SDKs before 20 send POST …/info with set, replace and delete.
project.update_info({"a": 1, "b": {"c": 2}})
project.delete_info("a")
check("update_info and delete_info", fw.get_project(project.id).info == {"b": {"c": 2}})
project.replace_info({"z": True})
check("replace_info", fw.get_project(project.id).info == {"z": True})
acquisition.upload_file(flywheel.FileSpec("scan.nii.gz", b"nifti bytes"))
acquisition = acquisition.reload()
acquisition.update_file_info("scan.nii.gz", {"k": "v", "n": 1})
acquisition.delete_file_info("scan.nii.gz", ["n"])
check("file info through POST", acquisition.reload().get_file("scan.nii.gz").info == {"k": "v"})
acquisition.replace_file_info("scan.nii.gz", {"r": 2})
check("replace_file_info", acquisition.reload().get_file("scan.nii.gz").info == {"r": 2})

# Roles: SDK 17 fails on an action it does not know; every default role must parse.
roles = fw.get_all_roles()
check("the default roles parse", sorted(r.label for r in roles) == ["admin", "read-only", "read-write"])
rw = next(r for r in roles if r.label == "read-write")
check("read-write uploads by SDK 17's name", "files_create_upload" in [str(getattr(a, "value", a)) for a in rw.actions])
admin_role = fw.get_role(next(p for p in project.reload().permissions).role_ids[0])
check("the creator's project role", admin_role.label == "admin")

# The version fields hold a version number.
version = fw.get_version()
check("release is the API version", version.release == "23.0.0", version)

# Resolve of the root: the groups, as `fw ls` asks.
root = fw.resolve([])
check("resolve of the root lists the groups", [g.id for g in root.children] == ["old"], root.children)
check("resolve of a session", [n.label for n in fw.resolve("old/P17/s1/ses1").path[1:]] == ["P17", "s1", "ses1"])

# Files and finders.
data = acquisition.read_file("scan.nii.gz")
check("a file reads back", data == b"nifti bytes")
check("a finder", [s.label for s in project.subjects.find("label=s1")] == ["s1"])
session.add_tag("t")
check("tags", session.reload().tags == ["t"])
done()
