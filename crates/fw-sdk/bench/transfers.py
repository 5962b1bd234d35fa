"""The Python SDK side of transfers.sh: the same bulk transfers with flywheel-sdk's own
calls (a loop of upload_file / download_file, and one download_tar). Prints
`<mode> <seconds> <files>`."""
import os
import sys
import time

import flywheel


def main():
    mode, key, project_id, path = sys.argv[1:5]
    fw = flywheel.Client(key)
    project = fw.get_project(project_id)
    started = time.monotonic()
    count = 0
    if mode == "import":
        for subject_label in sorted(os.listdir(path)):
            subject = project.subjects.find_first(f"label={subject_label}") or project.add_subject(label=subject_label)
            for session_label in sorted(os.listdir(os.path.join(path, subject_label))):
                session = subject.sessions.find_first(f"label={session_label}") or subject.add_session(label=session_label)
                for acq_label in sorted(os.listdir(os.path.join(path, subject_label, session_label))):
                    acq = session.acquisitions.find_first(f"label={acq_label}") or session.add_acquisition(label=acq_label)
                    folder = os.path.join(path, subject_label, session_label, acq_label)
                    for name in sorted(os.listdir(folder)):
                        acq.upload_file(os.path.join(folder, name))
                        count += 1
    elif mode == "tree":
        for subject in project.subjects():
            for session in subject.sessions():
                for acq in session.acquisitions():
                    folder = os.path.join(path, subject.label, session.label, acq.label)
                    os.makedirs(folder, exist_ok=True)
                    for f in acq.files:
                        acq.download_file(f.name, os.path.join(folder, f.name))
                        count += 1
    elif mode == "tar":
        ticket = fw.download_tar([project], path)
        count = ticket.file_cnt
    print(f"{mode} {time.monotonic() - started:.3f} {count}")


main()
