"""The output folder checked before any work, and atomic writes named by their writer's process id."""

from __future__ import annotations

import os

import pytest

from audit import AuditError
from audit.inputs._io import atomic_write_text, check_writable_folder


@pytest.mark.parametrize("relative", ["reports", "reports/deeper/still", "."])
def test_a_folder_to_create_or_an_existing_one_is_accepted_and_nothing_is_created(tmp_path, relative):
    path = tmp_path / relative
    assert check_writable_folder(path) == path
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("relative", ["file.txt", "file.txt/reports", "file.txt/a/b"])
def test_a_file_where_the_folder_should_be_is_refused_naming_the_path(tmp_path, relative):
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(AuditError) as exc:
        check_writable_folder(tmp_path / relative)
    text = str(exc.value)
    assert f"`--out` {tmp_path / relative} must be a folder" in text and "is a file" in text
    if relative != "file.txt":
        assert f"its parent {tmp_path / 'file.txt'} is a file" in text


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
@pytest.mark.parametrize("relative", ["locked", "locked/reports"])
def test_a_folder_without_write_permission_is_refused(tmp_path, relative):
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked").chmod(0o500)
    try:
        with pytest.raises(AuditError, match="is not writable"):
            check_writable_folder(tmp_path / relative)
    finally:
        (tmp_path / "locked").chmod(0o700)


def test_temporary_names_carry_the_writers_process_id(tmp_path):
    # What a killed writer leaves is recognised by its process id; a whole write leaves no temporary file.
    atomic_write_text(tmp_path / "findings.json", "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["findings.json"]
    import tempfile

    fd, name = tempfile.mkstemp(dir=tmp_path, prefix=f".findings.json.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    from audit.inputs._io import _TMP_FILE

    assert _TMP_FILE.match(os.path.basename(name)).group(1) == str(os.getpid())
