"""The official Python SDK's archive workflows against fw-server: download_tar and
download_zip (of the client and of containers, with include and exclude types), zip member
listing and download, and structured searches for more return types.

Usage: python downloads.py API_KEY DATA_DIR
"""
import io
import os
import sys
import tarfile
import tempfile
import zipfile

import flywheel
from _check import check, done

API_KEY, DATA_DIR = sys.argv[1], sys.argv[2]

fw = flywheel.Client(API_KEY)
fw.add_group(flywheel.Group(id="archives", label="Archives"))
project = fw.get_group("archives").add_project(label="Study A")
subject = project.add_subject(label="sub-01")
session = subject.add_session(label="ses-01")
t1 = session.add_acquisition(label="T1w")
dwi = session.add_acquisition(label="T1w")  # the same label: the folder becomes T1w_0

series = io.BytesIO()
with zipfile.ZipFile(series, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("dicom/1.dcm", b"D" * 50_000)
    z.writestr("dicom/2.dcm", b"E" * 20_000)
    z.comment = b"series 3"
contents = {
    (t1.id, "scan.nii.gz"): os.urandom(200_000),
    (t1.id, "series.dicom.zip"): series.getvalue(),
    (dwi.id, "dwi.nii.gz"): os.urandom(3_000),
    (session.id, "notes é.txt"): "séance notes".encode(),
    (project.id, "protocol.csv"): b"a,b\n1,2\n",
}
for (container_id, name), data in contents.items():
    fw.upload_file_to_container(container_id, flywheel.FileSpec(name, data))

scan = [f for f in fw.get_acquisition(t1.id).files if f.name == "scan.nii.gz"][0]
analysis = session.add_analysis(label="qc", inputs=[scan.ref()])
fw.upload_file_to_container(analysis.id, flywheel.FileSpec("report.txt", b"all good"))

base = "scitran/archives/Study A/sub-01/ses-01"
expected = {
    "scitran/archives/Study A/protocol.csv": contents[(project.id, "protocol.csv")],
    f"{base}/notes é.txt": contents[(session.id, "notes é.txt")],
    f"{base}/T1w/scan.nii.gz": contents[(t1.id, "scan.nii.gz")],
    f"{base}/T1w/series.dicom.zip": contents[(t1.id, "series.dicom.zip")],
    f"{base}/T1w_0/dwi.nii.gz": contents[(dwi.id, "dwi.nii.gz")],
    f"{base}/qc/input/scan.nii.gz": contents[(t1.id, "scan.nii.gz")],
    f"{base}/qc/output/report.txt": b"all good",
}

work = tempfile.mkdtemp()


def tar_members(path):
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def zip_members(path):
    with zipfile.ZipFile(path) as z:
        check_result = z.testzip()
        assert check_result is None, f"bad member {check_result}"
        return {name: z.read(name) for name in z.namelist()}


dest = os.path.join(work, "all.tar")
summary = fw.download_tar(project, dest)
members = tar_members(dest)
check("fw.download_tar of a project: every file, byte for byte", members == expected, sorted(members))
check("the ticket stub counts them", (summary.file_cnt, summary.size) == (len(expected), sum(map(len, expected.values()))), summary)

dest = os.path.join(work, "all.zip")
fw.download_zip([project], dest)
check("fw.download_zip of a project", zip_members(dest) == expected)

dest = os.path.join(work, "nifti.zip")
summary = fw.download_zip([session], dest, include_types=["nifti"])
members = zip_members(dest)
nifti = {p: b for p, b in expected.items() if p.endswith(".nii.gz")}
check("download_zip with include_types", members == nifti and summary.file_cnt == 3, sorted(members))

dest = os.path.join(work, "no-images.tar")
project.download_tar(dest, exclude_types=["nifti", "dicom"])
members = tar_members(dest)
check("project.download_tar with exclude_types", sorted(members) == sorted(p for p in expected if not p.endswith((".nii.gz", ".zip"))), sorted(members))

dest = os.path.join(work, "subject.tar")
fw.download_tar(subject, dest)
check("fw.download_tar of a subject", set(tar_members(dest)) == {p for p in expected if "/sub-01/" in p})

dest = os.path.join(work, "acq.zip")
dwi.download_zip(dest)
check("acquisition.download_zip keeps the unique folder", list(zip_members(dest)) == [f"{base}/T1w_0/dwi.nii.gz"])

dest = os.path.join(work, "analysis.tar")
fw.get_analysis(analysis.id).download_tar(dest)
check("analysis.download_tar: input and output", sorted(tar_members(dest)) == [f"{base}/qc/input/scan.nii.gz", f"{base}/qc/output/report.txt"])

# Zip members of an uploaded file.
info = t1.get_file_zip_info("series.dicom.zip")
check("get_file_zip_info", (info.comment, [(m.path, m.size) for m in info.members]) == ("series 3", [("dicom/1.dcm", 50_000), ("dicom/2.dcm", 20_000)]), info)
dest = os.path.join(work, "member")
t1.download_file_zip_member("series.dicom.zip", "dicom/2.dcm", dest)
check("download_file_zip_member", open(dest, "rb").read() == b"E" * 20_000)
check("read_file_zip_member", t1.read_file_zip_member("series.dicom.zip", "dicom/1.dcm") == b"D" * 50_000)
zipped = [f for f in fw.get_acquisition(t1.id).files if f.name == "series.dicom.zip"][0]
check("zip_member_count on the file", zipped.zip_member_count == 2, zipped.zip_member_count)
try:
    t1.get_file_zip_info("scan.nii.gz")
    check("zip info of a file that is no zip is a 400", False)
except flywheel.ApiException as e:
    check("zip info of a file that is no zip is a 400", e.status == 400, e)

# Structured search, for more return types.
results = fw.search({"structured_query": "acquisition.label = T1w AND file.type = nifti", "return_type": "acquisition"})
check("search returning acquisitions", sorted(r.acquisition.id for r in results) == sorted([t1.id, dwi.id]), results)
results = fw.search({"structured_query": "file.name = protocol.csv", "return_type": "project"})
check("search returning projects", [r.project.id for r in results] == [project.id], results)
results = fw.search({"structured_query": "analysis.label = qc", "return_type": "analysis"})
check("search returning analyses", [r.analysis.id for r in results] == [analysis.id], results)

done()
