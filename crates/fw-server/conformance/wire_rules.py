"""Drives the official Flywheel Python SDK (flywheel-sdk 23.0.0), unmodified, against a
running fw-server through the server rules of docs/wire.md §15 (issue 16): each input
that once failed, with the value it must give.

Usage: python wire_rules.py API_KEY DATA_DIR
Exits non-zero on the first failed check; prints one line per check.
"""
import sys

import flywheel
from _check import check, done

API_KEY, DATA_DIR = sys.argv[1], sys.argv[2]

fw = flywheel.Client(API_KEY)
fw.add_group(flywheel.Group(id="wire", label="Wire"))
project = fw.get_group("wire").add_project(label="Rules")
subject = project.add_subject(code="sub-01", sex="female", info={"key0": "val0", "a": {"b": 1, "c": 2}})

# §15.1: update merges info; other keys remain (the Quick Reference's example).
subject.update(sex="male", info={"key1": "val1", "a": {"b": 3}})
subject = subject.reload()
check("update keeps sex", subject.sex == "male", subject.sex)
check(
    "update merges info recursively",
    subject.info == {"key0": "val0", "key1": "val1", "a": {"b": 3, "c": 2}},
    subject.info,
)

# §15.2: a timestamp without an offset reads back as an aware datetime (UTC); sessions
# sort by the instant, not the text.
from datetime import datetime, timedelta, timezone

naive = project.add_session(label="naive", subject=subject, timestamp=datetime(2020, 6, 1, 9, 30))
naive = naive.reload()
check("a naive timestamp reads back aware", naive.timestamp.tzinfo is not None, naive.timestamp)
check("a naive timestamp means UTC", naive.timestamp == datetime(2020, 6, 1, 9, 30, tzinfo=timezone.utc), naive.timestamp)
for label, ts in [("plus5", "2020-06-01T09:00:00+05:00"), ("zulu", "2020-06-01T05:00:00Z"), ("minus4", "2020-06-01T01:30:00-04:00")]:
    tz = timezone(timedelta(hours={"plus5": 5, "zulu": 0, "minus4": -4}[label]))
    project.add_session(label=label, subject=subject, timestamp=datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(tz))
ordered = [s.label for s in project.sessions.find("label=~^(plus5|zulu|minus4)$", sort="timestamp:asc")]
check("sort=timestamp orders instants", ordered == ["plus5", "zulu", "minus4"], ordered)
check("age helpers work on the aware timestamp", naive.local_timestamp is not None)

# §15.6: a session update's subject fields reach the subject, not the bin.
naive.update(subject={"_id": subject.id, "master_code": "MC-1"})
check("session update applies subject.master_code", fw.get_subject(subject.id).master_code == "MC-1")

# §15.3: a file name with a forbidden character is refused, naming it.
import os
import tempfile

bad = os.path.join(tempfile.mkdtemp(), "a:b.txt")
with open(bad, "w") as f:
    f.write("x")
try:
    naive.upload_file(bad)
    check("a forbidden file name is refused", False, "accepted")
except flywheel.ApiException as e:
    check("a forbidden file name is refused with 400 naming it", e.status == 400 and "':' at position 2" in str(e.reason), e.reason)

# §15.3: a rename (the SDK's move_file) applies the rule, and renames.
good = os.path.join(tempfile.mkdtemp(), "before.txt")
with open(good, "w") as f:
    f.write("x")
naive.upload_file(good)
file_id = naive.reload().get_file("before.txt").file_id
try:
    fw.move_file(file_id, flywheel.FileMoveInput(name="a|b.txt"))
    check("a rename to a forbidden name is refused", False, "accepted")
except flywheel.ApiException as e:
    check("a rename to a forbidden name is refused with 400 naming it", e.status == 400 and "'|' at position 2" in str(e.reason), e.reason)
fw.move_file(file_id, flywheel.FileMoveInput(name="after.txt"))
check("move_file renames", [f.name for f in naive.reload().files if f.file_id == file_id] == ["after.txt"])

# §15.4: a read the SDK makes on a path another method holds is served.
naive.add_tag("t1")
check("get_session_tag is served", fw.get_session_tag(naive.id, "t1") == "t1")

# §4.2: GET /users honours its paging: users.find() ends, find_first finds the one asked.
fw.add_user(flywheel.User(id="zed@example.org", email="zed@example.org", firstname="Z", lastname="Ed"))
users = fw.users.find()
check("users.find() ends with each user once", sorted(u.id for u in users) == ["admin@local", "zed@example.org"], [u.id for u in users])
check("users.find_first('_id=x') finds x", fw.users.find_first("_id=zed@example.org").id == "zed@example.org")
check("users.find sorted", [u.id for u in fw.users.find(sort="_id:desc")] == ["zed@example.org", "admin@local"])

done()
