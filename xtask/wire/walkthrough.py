"""The wire-equivalence walkthrough, Python side: the Quick Reference calls that fw-sdk
part 1 covers, made with the official flywheel-sdk 23.0.0 against an fw-server that records
every request (`serve --record-requests FILE`). `crates/fw-sdk/examples/walkthrough.rs`
makes the same calls, in the same order, through fw-sdk; `cargo xtask wire` compares the
two recordings (see crates/fw-sdk/WIRE.md).

Usage: python walkthrough.py API_KEY IDS_FILE

The server must already have the user bob@x.org (the harness adds it with
`fw-server user add`). IDS_FILE receives a JSON object naming every id the walkthrough
made ({"project": "<id>", …}) so that the harness can compare the two recordings by name
rather than by random id. Each step asserts its result, so a wrong reply stops the run.
"""
import json
import sys
from datetime import datetime, timezone

import flywheel

API_KEY, IDS_FILE = sys.argv[1], sys.argv[2]
ids = {}

# The client: one GET /auth/status.
fw = flywheel.Client(API_KEY)
me = fw.get_current_user()
assert me.id == "admin@local", me
assert fw.get_version().flywheel_release is not None
assert fw.get_config() is not None

# Create the hierarchy.
group_id = fw.add_group(flywheel.Group(id="wire", label="Wire Group"))
assert group_id == "wire", group_id
group = fw.get_group("wire")
project = group.add_project(label="Wire Project")
ids["project"] = project.id
subject = project.add_subject(label="sub-01", sex="female")
ids["subject sub-01"] = subject.id
session = subject.add_session(label="ses-01", age=946728000)
ids["session ses-01"] = session.id
acquisition = session.add_acquisition(label="T1w")
ids["acquisition T1w"] = acquisition.id
for i in range(3):
    ids[f"subject bulk-{i}"] = project.add_subject(label=f"bulk-{i}").id

# Finders: find, sort and limit, find_first, find_one, iter_find (pages of 2), listing all,
# and the finders on containers.
bulk = fw.subjects.find("label=~^bulk")
assert [s.label for s in bulk] == ["bulk-0", "bulk-1", "bulk-2"], bulk
top = fw.subjects.find("label=~^bulk", sort="label:desc", limit=2)
assert [s.label for s in top] == ["bulk-2", "bulk-1"], top
assert fw.subjects.find_first("label=bulk-1").label == "bulk-1"
assert fw.projects.find_one("label=Wire Project").id == project.id
assert [s.label for s in fw.subjects.iter_find("label=~^bulk", limit=2)] == ["bulk-0", "bulk-1", "bulk-2"]
assert len(fw.groups()) == 1
assert len(project.subjects()) == 4
assert [s.label for s in project.sessions.find("label=ses-01")] == ["ses-01"]
assert [s.label for s in subject.sessions()] == ["ses-01"]
assert [a.label for a in session.acquisitions()] == ["T1w"]
assert [p.label for p in group.projects.find("label=Wire Project")] == ["Wire Project"]

# A session straight under the project, its subject made from a code.
direct = project.add_session(label="ses-direct", subject={"code": "sub-02"})
assert direct.subject.code == "sub-02", direct
ids["session ses-direct"] = direct.id
ids["subject sub-02"] = direct.subject.id

# Get by id, typed.
assert type(fw.get(session.id)).__name__ == "SessionOutput"
assert fw.get_project(project.id).label == "Wire Project"
assert fw.get_subject(subject.id).sex == "female"
assert fw.get_acquisition(acquisition.id).label == "T1w"

# Lookup and resolve.
assert fw.lookup("wire/Wire Project/sub-01/ses-01/T1w").id == acquisition.id
resolved = fw.resolve("wire/Wire Project/sub-01")
assert [c.label for c in resolved.children] == ["ses-01"], resolved.children

# Search.
results = fw.search({"structured_query": "subject.code = sub-01", "return_type": "session"}, size=10)
assert [r.session.id for r in results] == [session.id], results

# Update, timestamps and age.
project.update(description="described")
session.update(timestamp=datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc), timezone="Europe/Berlin")
again = fw.get_session(session.id)
assert again.timestamp == datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc), again.timestamp
assert again.timezone == "Europe/Berlin"
assert (again.age_years, again.age_months, again.age_weeks, again.age_days) == (30.0, 365.25, 1565.357142857143, 10957.5)

# Info.
session.update_info({"a": 1, "nested": {"b": 2, "c": 3}})
session.delete_info("nested.b")
session.replace_info({"only": True})
assert fw.get_session(session.id).info == {"only": True}

# Tags and notes.
acquisition.add_tag("my tag/x")
acquisition.add_tag("qa")
acquisition.delete_tag("my tag/x")
project.add_note("hello")
notes = fw.get_project(project.id).notes
ids["note hello"] = notes[0].id
project.delete_note(notes[0].id)

# Roles and permissions.
roles = fw.get_all_roles()
ro_role = [r.id for r in roles if r.default_flywheel_role == "ro"][0]
fw.add_role_to_group("wire", flywheel.GroupRole(id=ro_role))
group.add_permission(flywheel.AccessPermission(id="bob@x.org", access="ro"))
group.update_permission("bob@x.org", {"access": "rw"})
group.delete_permission("bob@x.org")
project.add_permission(flywheel.RolePermission(id="bob@x.org", role_ids=[ro_role]))
assert "T1" in fw.get_modality("MR").classification["Measurement"]

with open(IDS_FILE, "w") as f:
    json.dump(ids, f, indent=1)
print(f"walkthrough done: {len(ids)} ids")
