"""Drives the official Flywheel Python SDK (flywheel-sdk 23.0.0), unmodified, against a
running fw-server through the server rules of wire-protocol.md §15 (issue 16): each input
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

# §4.2: GET /users honours its paging: users.find() ends, find_first finds the one asked.
fw.add_user(flywheel.User(id="zed@example.org", email="zed@example.org", firstname="Z", lastname="Ed"))
users = fw.users.find()
check("users.find() ends with each user once", sorted(u.id for u in users) == ["admin@local", "zed@example.org"], [u.id for u in users])
check("users.find_first('_id=x') finds x", fw.users.find_first("_id=zed@example.org").id == "zed@example.org")
check("users.find sorted", [u.id for u in fw.users.find(sort="_id:desc")] == ["zed@example.org", "admin@local"])

done()
