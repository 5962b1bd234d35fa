"""The helpers the conformance scripts share (not a script: `cargo xtask test` skips files
whose name starts with `_`)."""
import sys

_count = 0


def check(name, condition, detail=""):
    """Prints one line for the check; exits non-zero on the first failure."""
    global _count
    _count += 1
    if not condition:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    print(f"ok   {name}")


def done():
    """The closing line the CI log is read for."""
    print(f"{_count} passed, 0 failed")


def upload_text(container, path, text):
    """Writes `text` to the file at `path` (replacing it) and uploads it to `container` with
    the SDK's `upload_file`, as a user would."""
    with open(path, "w") as f:
        f.write(text)
    container.upload_file(path)
