"""fw-client (Flywheel's thin HTTP client) against fw-server: 1.x in the CLI's
virtualenv, 2.x in one of its own. It takes the key as `http://host:port:SECRET`, the
form `fw-server user add` also prints (it does not read `__force_insecure`).

Usage: python thin_client.py API_KEY DATA_DIR
"""
# python: cli fw-client2
import io
import sys
from importlib.metadata import version as installed

from packaging.version import Version

import fw_client
from _check import check, done

API_KEY = sys.argv[1]
host, port, _, secret = API_KEY.split(":")
major = Version(installed("fw-client")).major
print(f"fw-client {installed('fw-client')}")

fw = fw_client.FWClient(api_key=f"http://{host}:{port}:{secret}", client_name="conformance")
check("the key form names an http site", str(fw.base_url).startswith(f"http://{host}:{port}"))

# /version: fw-client 1.x reads `release`, 2.x `flywheel_release`, each as a version.
if major < 2:
    release, status = fw.get_core_version(), fw.get_auth_status()
else:
    release, status = fw.core_version, fw.auth_status
check("the release is a version number", Version(release) >= Version("20.0"), release)
check("check_version compares it", fw.check_version("17.0") and not fw.check_version("99.0"))
check("auth status names the caller", status["user_id"] == "admin@local", status)
check("auth status reads the user", status["info"]["_id"] == "admin@local")

# Plain requests, as scripts built on fw-client send them.
fw.post("/api/groups", json={"_id": "fwc", "label": "fw-client"})
project = fw.post("/api/projects", json={"group": "fwc", "label": "P"})
check("a project is created", len(project["_id"]) == 24, project)
fw.put(f"/api/projects/{project['_id']}", json={"info": {"from": "fw-client"}})
got = fw.get(f"/api/projects/{project['_id']}")
check("attribute access on replies", got.label == "P" and got.info["from"] == "fw-client")
# fw-client asks for `x-accept-feature: pagination`: the reply is an envelope.
page = fw.get("/api/projects", params={"filter": "label=P", "limit": 5})
check("a finder through fw-client, paged", [p["_id"] for p in page["results"]] == [project["_id"]], page)
fw.post(
    f"/api/projects/{project['_id']}/files",
    files={"file": ("a.txt", io.BytesIO(b"from fw-client"))},
)
data = fw.get(f"/api/projects/{project['_id']}/files/a.txt", raw=True).content
check("a file uploads and downloads byte for byte", data == b"from fw-client", data)

# Errors: fw-client raises its own classes, with the server's message.
try:
    fw.get("/api/projects/000000000000000000000000")
    check("a missing project is an error", False)
except fw_client.NotFound as exc:
    check("a missing project is NotFound", "404" in str(exc), str(exc))
# Device uploads are outside fw-server's scope: a 501 naming the route, not retried.
try:
    fw.post("/api/storage/files", params={"project_id": project["_id"], "signed_url": True})
    check("POST /storage/files is refused", False)
except fw_client.ServerError as exc:
    message = exc.response.json()["message"]
    check(
        "POST /storage/files is a 501 naming the route",
        exc.response.status_code == 501
        and message == "POST /api/storage/files is not implemented by fw-server",
        str(exc),
    )
done()
