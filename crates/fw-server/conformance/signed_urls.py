# fw-server flags: --signed-urls
"""The official Python SDK's signed-URL upload flow against `fw-server --signed-urls`:
every upload asks GET /config, sees signed_url true, opens a ticket, PUTs the bytes to the
storage URL the ticket names (on the server itself, with no API key), and closes the ticket.

Usage: python signed_urls.py API_KEY DATA_DIR
"""
import os
import sys
import tempfile

import flywheel
from _check import check, done, upload_text

API_KEY, DATA_DIR = sys.argv[1], sys.argv[2]


fw = flywheel.Client(API_KEY)
check("config says signed URLs", fw.get_config().features.signed_url is True)
fw.add_group(flywheel.Group(id="signed", label="Signed"))
project = fw.get_group("signed").add_project(label="Signed Project")
acquisition = project.add_subject(label="s").add_session(label="ses").add_acquisition(label="acq")

work = tempfile.mkdtemp()
path = os.path.join(work, "signed.txt")
upload_text(acquisition, path, "through a ticket")
files = fw.get_acquisition(acquisition.id).files
check("upload_file through a ticket", [(f.name, f.size, f.type) for f in files] == [("signed.txt", 16, "text")], files)
check("the bytes arrived", acquisition.read_file("signed.txt") == b"through a ticket")

fw.upload_file_to_container(project.id, flywheel.FileSpec("meta.csv", b"a,b\n1,2\n", "text/csv"), metadata={"info": {"rows": 1}})
meta = [f for f in fw.get_project(project.id).files if f.name == "meta.csv"][0]
check("metadata travels with the ticket", (meta.type, meta.info) == ("tabular data", {"rows": 1}), meta)

upload_text(acquisition, path, "version two")
check("a second signed upload makes version 2", [f.version for f in fw.get_acquisition(acquisition.id).files] == [2])

done()
