"""The Python SDK side of `cargo xtask bench-python` (the race): one workload, timed,
through flywheel-sdk 23.0.0's own calls. The small-file transfers are transfers.py's.

    race.py create KEY N                  # N subjects in a fresh project
    race.py iterate KEY PROJECT           # project.subjects.iter_find()
    race.py finder KEY PROJECT FILTER     # project.subjects.find(FILTER)
    race.py get KEY IDS_FILE              # fw.get_subject(id) of each id
    race.py upload KEY ACQ FILE           # acquisition.upload_file(FILE)
    race.py download KEY ACQ NAME DEST    # acquisition.download_file(NAME, DEST)

Prints `<workload> <seconds> <count>`; the seconds cover the workload only."""
import os
import sys
import time

import flywheel


def main():
    workload, key, *rest = sys.argv[1:]
    fw = flywheel.Client(key)
    if workload == "create":
        (n,) = rest
        try:
            fw.add_group(flywheel.Group("race", "race"))
        except flywheel.ApiException as e:
            if e.status != 409:
                raise
        project = fw.get_project(fw.add_project(flywheel.Project(group="race", label=f"create-py-{os.getpid()}")))
    elif workload in ("iterate", "finder"):
        project = fw.get_project(rest[0])
    started = time.monotonic()
    if workload == "create":
        for i in range(int(n)):
            project.add_subject(label=f"s-{i}")
        count = int(n)
    elif workload == "iterate":
        count = sum(1 for _ in project.subjects.iter_find())
    elif workload == "finder":
        count = len(project.subjects.find(rest[1]))
    elif workload == "get":
        (ids,) = rest
        count = 0
        with open(ids) as lines:
            for line in lines:
                fw.get_subject(line.strip())
                count += 1
    elif workload == "upload":
        acquisition_id, path = rest
        fw.get_acquisition(acquisition_id).upload_file(path)
        count = 1
    elif workload == "download":
        acquisition_id, name, dest = rest
        fw.get_acquisition(acquisition_id).download_file(name, dest)
        count = 1
    else:
        raise SystemExit(f"unknown workload {workload}")
    print(f"{workload} {time.monotonic() - started:.3f} {count}")


main()
