"""Drives the official Flywheel Python SDK (flywheel-sdk 23.0.0), unmodified, against a
running fw-server, through the Quick Reference workflows this part of the server covers.

Usage: python quick_reference.py API_KEY DATA_DIR
Exits non-zero on the first failed check; prints one line per check.
"""
import json
import os
import sys
import tempfile

import flywheel
from _check import check, done, upload_text

API_KEY, DATA_DIR = sys.argv[1], sys.argv[2]


# Client from an API key, and from the CLI's credentials file.
fw = flywheel.Client(API_KEY)
home = tempfile.mkdtemp()
os.makedirs(os.path.join(home, ".config", "flywheel"))
with open(os.path.join(home, ".config", "flywheel", "user.json"), "w") as f:
    json.dump({"key": API_KEY, "root": False}, f)
old_home = os.environ.get("HOME")
os.environ["HOME"] = home
fw_from_file = flywheel.Client()
os.environ["HOME"] = old_home or ""
check("client from the credentials file", fw_from_file.get_current_user().id == "admin@local")

me = fw.get_current_user()
check("current user", me.id == "admin@local", me)
check("version", fw.get_version().flywheel_release is not None)
check("config", fw.get_config().features.signed_url is False)

# Groups and projects.
group_id = fw.add_group(flywheel.Group(id="sdkgrp", label="SDK Group"))
check("add_group returns the id", group_id == "sdkgrp", group_id)
group = fw.get_group("sdkgrp")
check("get_group", group.label == "SDK Group", group)
project = group.add_project(label="SDK Project")
check("group.add_project returns the project", project.label == "SDK Project" and project.group == "sdkgrp", project)

# Subjects, sessions, acquisitions through the container helpers.
subject = project.add_subject(label="sub-01", sex="female")
check("project.add_subject", subject.code == "sub-01" and subject.sex == "female", subject)
session = subject.add_session(label="ses-01", age=946728000)
check("subject.add_session", session.subject.id == subject.id, session)
check("age helpers", (session.age_years, session.age_months, session.age_days) == (30.0, 365.25, 10957.5))
acquisition = session.add_acquisition(label="T1w")
check("session.add_acquisition", acquisition.parents.session == session.id, acquisition)
direct = project.add_session(label="ses-direct", subject={"code": "sub-02"})
check("project.add_session with a new subject code", direct.subject.code == "sub-02", direct)

# Finders.
for i in range(12):
    project.add_subject(label=f"bulk-{i:02d}")
subjects = fw.subjects.find(f"project={project.id}")
check("fw.subjects.find (keyset paging)", len(subjects) == 14, len(subjects))
check("find with a filter", [s.label for s in fw.subjects.find("label=~^bulk-0[0-4]$")] == [f"bulk-0{i}" for i in range(5)])
check("find sorted", [s.label for s in fw.subjects.find("label=~^bulk", sort="label:desc")][:2] == ["bulk-11", "bulk-10"])
check("find_first", fw.subjects.find_first("label=bulk-03").label == "bulk-03")
check("find_one", fw.projects.find_one("label=SDK Project").id == project.id)
try:
    fw.projects.find_one("label=nope")
    check("find_one with no result raises", False)
except ValueError:
    check("find_one with no result raises", True)
check("iter_find", len(list(fw.subjects.iter_find("label=~bulk", limit=5))) == 12)
check("calling a finder", len(fw.groups()) >= 1)
check("project.subjects()", len(project.subjects()) == 14)
check("project.sessions.find", len(project.sessions.find("label=ses-01")) == 1)
check("session.acquisitions()", [a.label for a in session.acquisitions()] == ["T1w"])
check("group.projects.find", [p.label for p in group.projects.find("label=SDK Project")] == ["SDK Project"])
try:
    fw.subjects.find("label==x")
    check("an invalid filter is a 400", False)
except flywheel.ApiException as e:
    check("an invalid filter is a 400", e.status == 400 and "column" in (e.reason or ""), e)

# fw.get and updates.
check("fw.get types by container_type", type(fw.get(session.id)).__name__ == "SessionOutput", type(fw.get(session.id)))
project.update(description="described")
check("update", fw.get_project(project.id).description == "described")
subject.update(label="sub-01b")
check("subject code follows the label", fw.get_subject(subject.id).code == "sub-01b")

# Permissions and roles.
roles = fw.get_all_roles()
check("roles", sorted(r.default_flywheel_role for r in roles) == ["admin", "ro", "rw"], roles)

fw.add_role_to_group("sdkgrp", flywheel.GroupRole(id=roles[0].id))
check("add a role to a group", roles[0].id in fw.get_group("sdkgrp").roles)

# Info.
session.update_info({"a": 1, "nested": {"b": 2, "c": 3}})
session.update_info(x="y")
session.delete_info("nested.b")
info = fw.get_session(session.id).info
check("update_info and delete_info", info == {"a": 1, "nested": {"c": 3}, "x": "y"}, info)
session.replace_info({"only": True})
check("replace_info", fw.get_session(session.id).info == {"only": True})

# Tags and notes.
acquisition.add_tag("my tag/x")
acquisition.add_tag("qa")
check("add_tag", sorted(fw.get_acquisition(acquisition.id).tags) == ["my tag/x", "qa"])
acquisition.delete_tag("my tag/x")
check("delete_tag (a name that needs encoding)", fw.get_acquisition(acquisition.id).tags == ["qa"])
project.add_note("hello")
notes = fw.get_project(project.id).notes
check("add_note, attributed to the caller", notes[0].text == "hello" and notes[0].user == "admin@local", notes)
project.delete_note(notes[0].id)
check("delete_note", fw.get_project(project.id).notes == [])

# Timestamps.
from datetime import datetime, timezone
session.update(timestamp=datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc), timezone="Europe/Berlin")
again = fw.get_session(session.id)
check("timestamp and timezone", again.timestamp == datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc) and again.timezone == "Europe/Berlin", again.timestamp)
check("created and modified are datetimes", isinstance(again.created, datetime) and again.modified >= again.created)

# Lookup and resolve.
node = fw.lookup(f"sdkgrp/SDK Project/sub-01b/ses-01/T1w")
check("lookup", node.id == acquisition.id and type(node).__name__ == "AcquisitionOutput", node)
check("lookup by <id:...>", fw.lookup(["sdkgrp", f"<id:{project.id}>"]).id == project.id)
resolved = fw.resolve("sdkgrp/SDK Project/sub-01b/ses-01")
check("resolve path", [type(n).__name__ for n in resolved.path] == ["GroupOutput", "ProjectOutput", "SubjectOutput", "SessionOutput"])
check("resolve children", [c.label for c in resolved.children] == ["T1w"])
try:
    fw.lookup("sdkgrp/nope")
    check("lookup of a missing path is a 404", False)
except flywheel.ApiException as e:
    check("lookup of a missing path is a 404", e.status == 404)

# Users and permissions.
check("users", "admin@local" in [u.id for u in fw.users()])
fw.add_user(flywheel.User(id="bob@x.org", email="bob@x.org", firstname="Bob", lastname="Smith"))
check("add_user and get_user", fw.get_user("bob@x.org").firstname == "Bob")
group.add_permission(flywheel.AccessPermission(id="bob@x.org", access="ro"))
group.update_permission("bob@x.org", {"access": "rw"})
check("group permissions", [p.access for p in fw.get_group("sdkgrp").permissions if p.id == "bob@x.org"] == ["rw"])
group.delete_permission("bob@x.org")
check("group permission deleted", "bob@x.org" not in [p.id for p in fw.get_group("sdkgrp").permissions])
ro_role = [r.id for r in roles if r.default_flywheel_role == "ro"][0]
project.add_permission(flywheel.RolePermission(id="bob@x.org", role_ids=[ro_role]))
check("project permissions", [p.role_ids for p in fw.get_project(project.id).permissions if p.id == "bob@x.org"] == [[ro_role]])
check("get_modality", "T1" in fw.get_modality("MR").classification["Measurement"])

# Structured search.
results = fw.search({"structured_query": "subject.code = sub-01b", "return_type": "session"}, size=10)
check("fw.search with a dict", [r.session.id for r in results] == [session.id], results)
check("search results are typed", results[0].parent.type == "subject" and results[0].project.label == "SDK Project")
query = flywheel.SearchQuery(structured_query="acquisition.label = T1w AND session.age >= 0", return_type="subject", size=5)
check("fw.search with a SearchQuery", [r.subject.id for r in fw.search(query)] == [subject.id])
try:
    fw.search({"structured_query": "subject.code ==", "return_type": "session"})
    check("an invalid structured query is a 400", False)
except flywheel.ApiException as e:
    check("an invalid structured query is a 400", e.status == 400 and e.reason.startswith("Invalid structured query"), e)

# Files (plain multipart uploads: the server reports signed_url false).
import urllib.request
work = tempfile.mkdtemp()
path = os.path.join(work, "hello.txt")
upload_text(acquisition, path, "hello world")
files = fw.get_acquisition(acquisition.id).files
check("upload_file", [(f.name, f.type, f.size, f.version) for f in files] == [("hello.txt", "text", 11, 1)], files)
upload_text(acquisition, path, "hello again!")
check("a second upload makes version 2", [f.version for f in fw.get_acquisition(acquisition.id).files] == [2])
fw.upload_file_to_container(acquisition.id, flywheel.FileSpec("scan 1#.nii.gz", b"NIfTI", "application/octet-stream"),
                            metadata='{"modality": "MR", "info": {"EchoTime": 0.03}}')
files = fw.get_acquisition(acquisition.id).files
scan = [f for f in files if f.name == "scan 1#.nii.gz"][0]
check("upload_file_to_container with metadata", (scan.type, scan.modality, scan.info) == ("nifti", "MR", {"EchoTime": 0.03}), scan)
check("files filtered by type", [f.name for f in files if f.type == "nifti"] == ["scan 1#.nii.gz"])
out = os.path.join(work, "out")
acquisition.download_file("hello.txt", out)
check("download_file", open(out).read() == "hello again!")
check("read_file", acquisition.read_file("scan 1#.nii.gz") == b"NIfTI")
hello = [f for f in files if f.name == "hello.txt"][0]
hello.download(out)
check("file.download", open(out).read() == "hello again!")
check("file.read", hello.read() == b"hello again!")
with urllib.request.urlopen(hello.url()) as reply:
    check("file.url works without a key", reply.read() == b"hello again!")
node = fw.lookup(f"sdkgrp/SDK Project/sub-01b/ses-01/T1w/files/hello.txt")
check("lookup of a file node", type(node).__name__ == "FileNode" and node.parent_ref.id == acquisition.id, node)
node.download(out)
check("file node download", open(out).read() == "hello again!")
results = fw.search({"structured_query": "file.name = hello.txt", "return_type": "file"})
check("search for files", [(r.file.name, r.parent.id) for r in results] == [("hello.txt", acquisition.id)], results)

# File metadata, classification, modality.
def scan_file():
    return [f for f in fw.get_acquisition(acquisition.id).files if f.name == "scan 1#.nii.gz"][0]
acquisition.update_file_info("scan 1#.nii.gz", {"x": 1})
scan_file().update_info(z=3)
acquisition.delete_file_info("scan 1#.nii.gz", "EchoTime")
check("file info set and delete", scan_file().info == {"x": 1, "z": 3}, scan_file().info)
acquisition.replace_file_info("scan 1#.nii.gz", {"y": 2})
check("file info replace", scan_file().info == {"y": 2})
acquisition.replace_file_classification("scan 1#.nii.gz", {"Intent": ["Structural"]}, modality="MR")
acquisition.update_file_classification("scan 1#.nii.gz", {"Measurement": ["T1"], "Custom": ["mine"]})
check("classification replace and add", scan_file().classification == {"Intent": ["Structural"], "Measurement": ["T1"], "Custom": ["mine"]}, scan_file().classification)
acquisition.delete_file_classification("scan 1#.nii.gz", {"Measurement": ["T1"]})
check("classification delete", scan_file().classification == {"Intent": ["Structural"], "Custom": ["mine"]})
try:
    acquisition.update_file_classification("scan 1#.nii.gz", {"Measurement": ["Banana"]})
    check("a value the modality does not allow is a 400", False)
except flywheel.ApiException as e:
    check("a value the modality does not allow is a 400", e.status == 400)
scan_file().update(modality="CT", type="dicom")
check("a new modality clears the classification but Custom", (scan_file().modality, scan_file().type, scan_file().classification) == ("CT", "dicom", {"Custom": ["mine"]}))
acquisition.delete_file("hello.txt")
check("delete_file", [f.name for f in fw.get_acquisition(acquisition.id).files] == ["scan 1#.nii.gz"])

# Files by their stable id: tags, reload, the files finder.
scan = scan_file()
scan.add_tag("reviewed")
scan.add_tag("qa")
check("file.add_tag", sorted(scan_file().tags) == ["qa", "reviewed"], scan_file().tags)
scan_file().delete_tag("qa")
check("file.delete_tag", scan_file().tags == ["reviewed"])
check("file.reload", scan_file().reload().name == "scan 1#.nii.gz")
found = fw.files.find("name=scan 1#.nii.gz")
check("fw.files.find (envelope, keyset by file_id)", [f.name for f in found] == ["scan 1#.nii.gz"], found)

# Moving containers, with everything below them.
mover = project.add_subject(label="mover")
mover_session = mover.add_session(label="ses-m")
mover_acquisition = mover_session.add_acquisition(label="acq-m")
other = group.add_project(label="SDK Other")
mover.update(project=other.id)
check("subject.update(project=...) moves its sessions and acquisitions", (fw.get_session(mover_session.id).project, fw.get_acquisition(mover_acquisition.id).parents.project) == (other.id, other.id))
target = other.add_subject(label="target")
mover_session.update(subject={"_id": target.id})
check("session.update(subject=...) moves it to that subject", fw.get_session(mover_session.id).subject.id == target.id)
second = target.add_session(label="ses-n")
mover_acquisition.update(session=second.id)
check("acquisition.update(session=...) moves it", [a.id for a in second.acquisitions()] == [mover_acquisition.id])

joined = fw.get_acquisition(acquisition.id, join="origin")
check("join=origin names who made the files", "admin@local" in joined.join_origin.user, joined.join_origin)

# Custom roles.
uploader = fw.add_role(flywheel.RoleInput(label="SDK Uploader", actions=["containers_view_metadata", "files_create_single"]))
check("add_role", (uploader.label, uploader.default_flywheel_role) == ("SDK Uploader", None), uploader)
check("get_all_roles lists it", "SDK Uploader" in [r.label for r in fw.get_all_roles()])
other.add_permission({"_id": "bob@x.org", "role_ids": [uploader.id]})
check("a project permission with a custom role", fw.get_role(uploader.id).in_use is True)
fw.modify_role(uploader.id, flywheel.RoleUpdate(actions=["containers_view_metadata"]))
check("modify_role", fw.get_role(uploader.id).actions == ["containers_view_metadata"])
other.delete_permission("bob@x.org")
fw.delete_role(uploader.id)
check("delete_role", uploader.id not in [r.id for r in fw.get_all_roles()])

done()
