"""Walks every GET route of flywheel-sdk 23.0.0's API classes (the `flywheel/api/*_api.py`
files of the installed package name each path and method) against a running fw-server,
with real ids in the path: no route answers 405, 404 for want of a route, or 500; a route
fw-server serves answers 200, one outside its scope 501 naming the route
(docs/wire.md §15.4).

Usage: python sdk_routes.py API_KEY DATA_DIR
"""
import glob
import os
import re
import sys
import tempfile

import flywheel
from flywheel.rest import ApiException
from _check import check, done

API_KEY, DATA_DIR = sys.argv[1], sys.argv[2]
fw = flywheel.Client(API_KEY)

# The routes, read from the SDK itself.
api_dir = os.path.join(os.path.dirname(flywheel.__file__), "api")
routes = set()
for path in glob.glob(os.path.join(api_dir, "*_api.py")):
    with open(path) as f:
        for m in re.finditer(r"call_api\(\s*'([^']*)', '([A-Z]+)'", f.read()):
            routes.add((m.group(2), m.group(1)))
gets = sorted(p for method, p in routes if method == "GET")
check("the SDK names its routes", len(gets) > 150, len(gets))

# A hierarchy where every kind holds a file, a note, a tag and (below a group) an analysis.
fw.add_group(flywheel.Group(id="walk", label="Walk"))
group = fw.get_group("walk")
project = group.add_project(label="P")
subject = project.add_subject(code="s1")
session = subject.add_session(label="ses")
acquisition = session.add_acquisition(label="acq")
ids = {"groups": group.id, "projects": project.id, "subjects": subject.id,
       "sessions": session.id, "acquisitions": acquisition.id}
upload_dir = tempfile.mkdtemp()
local = os.path.join(upload_dir, "a.txt")
with open(local, "w") as f:
    f.write("abc")
notes, analyses = {}, {}
for collection, cid in ids.items():
    container = fw.get(cid)
    container.add_tag("t1")
    if collection == "groups":
        continue
    container.upload_file(local)
    container.add_note("n")
    analysis = container.add_analysis(label="ana")
    fw.get_analysis(analysis.id).upload_output(local)
    analyses[collection] = analysis.id
ids["containers"] = acquisition.id
ids["analyses"] = analyses["sessions"]
analyses["containers"] = analyses["acquisitions"]
analyses["analyses"] = analyses["sessions"]
analysis = fw.get(ids["analyses"])
analysis.add_tag("t1")
analysis.add_note("n")
for collection, cid in ids.items():
    if collection != "groups":
        notes[collection] = fw.get(cid).notes[0].id
file_id = fw.get_acquisition(acquisition.id).files[0].file_id
role_id = fw.get_all_roles()[0].id


# `GET /download` serves a ticket made by `POST /download`.
ticket = fw.create_download_ticket({"optional": True, "nodes": [{"level": "project", "_id": project.id}]}).ticket


def fill(path):
    """The path with each `{placeholder}` replaced by a real id of its kind."""
    collection = path.split("/")[1]

    def value(m):
        name = m.group(1)
        if name in ("filename", "file_name"):
            return "a.txt"
        if name == "analysis_id":
            return analyses.get(collection, analyses["sessions"])
        if name == "note_id":
            return notes.get(collection, "x")
        if name == "value":
            return "t1"
        if name in ("user_id", "uid"):
            return "admin@local"
        if name == "role_id":
            return role_id
        if name == "file_id":
            return file_id
        if name == "modalityId":
            return "MR"
        if name == "group_id":
            return group.id
        if collection in ids and (name in ("cid", "container_id") or name.endswith("_id")):
            return ids[collection]
        return "x"

    return re.sub(r"\{([^}]+)\}", value, path)


served, outside, failures = [], [], []
for path in gets:
    url = fill(path)
    query = [("ticket", ticket)] if path == "/download" else []
    try:
        fw.api_client.call_api(url, "GET", query_params=query, auth_settings=["ApiKey"],
                               _preload_content=False, _return_http_data_only=True)
        status, body = 200, ""
    except ApiException as e:
        status, body = e.status, e.body or ""
    if status == 200:
        served.append(path)
    elif status == 501 and "is not implemented by fw-server" in str(body):
        outside.append(path)
    else:
        failures.append((path, url, status, str(body)[:200]))
for failure in failures:
    print("    ", *failure)
check("no SDK GET route answers 405", not [f for f in failures if f[2] == 405], failures)
check("every SDK GET route answers 200 or 501 naming the route", not failures, len(failures))
check("the routes fw-server serves answer 200", len(served) >= 60, len(served))
print(f"     {len(served)} served, {len(outside)} outside fw-server's scope (501)")

done()
