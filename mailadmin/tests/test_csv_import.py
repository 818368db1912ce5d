import hashlib
import re

import pytest
from django.core.management import CommandError, call_command
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aliases.models import Alias
from conftest import MAILBOX_PASSWORD
from mailadmin import csv_io
from mailadmin.models import AuditEntry
from users.models import Mailbox
from mailadmin.operator import Operator

AS_ROOT = Operator.command_line(via="import")

A_HASH = "{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu" + "A" * 31
STRONG = "Strong-imported-passw0rd"


def statuses(the_plan):
    return {row.key: (row.status, row.detail) for row in the_plan.rows}


@pytest.fixture
def file_with_every_outcome(jane_mailbox, domain_b):
    return (
        "email,password,quota\n"
        f"new@a.example,{A_HASH},1G\n"
        f"jane@a.example,,{jane_mailbox.quota}\n"  # unchanged
        "jane2@a.example,,\n"  # new without password
        "JANE@a.example,,2G\n"  # duplicate of line 3 after normalising
        "x@nowhere.example,{BLF-CRYPT}$2y$05$x,0\n"
        "bad address,{PLAIN}x,0\n"
        "weak@b.example,123,0\n"
        "odd@b.example,{NOPE}abc,0\n"
        "quota@b.example,{PLAIN}x,lots\n"
    )


def test_the_dry_run_says_what_every_row_would_do(file_with_every_outcome):
    the_plan = csv_io.plan(file_with_every_outcome, AS_ROOT)
    by_line = {row.line: (row.status, row.detail) for row in the_plan.rows}
    assert by_line[3][0] == "unchanged"
    assert by_line[5] == ("error", "The address is already on line 3.")
    result = statuses(the_plan)
    assert result["new@a.example"] == ("new", "quota 1G")
    assert result["jane2@a.example"] == ("error", "A new mailbox needs a password (plaintext or a {SCHEME} hash).")
    assert "no domain nowhere.example" in result["x@nowhere.example"][1]
    assert result["bad address"][0] == "error"
    assert result["weak@b.example"][0] == "error" and "password" in result["weak@b.example"][1].lower()
    assert result["odd@b.example"][0] == "error" and "scheme" in result["odd@b.example"][1].lower()
    assert result["quota@b.example"][0] == "error" and "size" in result["quota@b.example"][1]


def test_a_plan_with_errors_writes_nothing(file_with_every_outcome):
    with pytest.raises(csv_io.ImportFailed):
        csv_io.apply(csv_io.plan(file_with_every_outcome, AS_ROOT))
    assert not Mailbox.objects.filter(email="new@a.example").exists()


def test_it_reports_changes_to_existing_mailboxes(jane_mailbox):
    result = statuses(csv_io.plan(f"email,password,quota\njane@a.example,{A_HASH},500M\n", AS_ROOT))
    assert result["jane@a.example"] == ("changed", "quota unlimited → 500M, password")


def test_applying_writes_hashes_quotas_and_audit_entries(jane_mailbox, settings):
    data = f"email,password,quota\nnew@a.example,{A_HASH},1G\njane@a.example,{STRONG},\n"
    counts = csv_io.apply(csv_io.plan(data, AS_ROOT))
    assert (counts["new"], counts["changed"]) == (1, 1)
    new = Mailbox.objects.get(email="new@a.example")
    assert (new.password, new.quota) == (A_HASH, 1024**3)
    jane = Mailbox.objects.get(email="jane@a.example")
    assert jane.password.startswith("{" + settings.MAILADMIN_PASSWORD_SCHEME + "}")
    assert jane.check_password(STRONG)
    logged = {e.object_repr: e for e in AuditEntry.objects.filter(via="import")}
    assert logged["new@a.example"].object_id == new.pk
    assert logged["jane@a.example"].changes == {"password": "password changed"}
    assert A_HASH not in str([e.changes for e in logged.values()])


def test_it_is_all_or_nothing_when_the_database_refuses_a_row(domain_a):
    the_plan = csv_io.plan(f"email,password,quota\none@a.example,{A_HASH},0\ntwo@a.example,{A_HASH},0\n", AS_ROOT)
    # Someone adds two@ between the dry run and the apply.
    Mailbox.objects.create(domain=domain_a, email="two@a.example", password=A_HASH)
    with pytest.raises(csv_io.ImportFailed):
        csv_io.apply(the_plan)
    assert not Mailbox.objects.filter(email="one@a.example").exists()


def test_it_imports_aliases_and_skips_existing_ones(jane_mailbox, domain_a):
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example")
    data = "source,destination\ninfo@a.example,jane@a.example\n@a.example,jane@a.example\nsales@a.example,sales@a.example\n"
    result = statuses(csv_io.plan(data, AS_ROOT))
    assert result["info@a.example → jane@a.example"][0] == "unchanged"
    assert result["@a.example → jane@a.example"][0] == "new"
    assert result["sales@a.example → sales@a.example"][0] == "error"
    fixed = data.replace("sales@a.example,sales@a.example\n", "")
    csv_io.apply(csv_io.plan(fixed, AS_ROOT))
    assert Alias.objects.filter(source="@a.example", destination="jane@a.example").exists()


def test_a_domain_admin_may_import_only_into_their_domains(bob, domain_b):
    result = statuses(csv_io.plan(f"email,password\nx@b.example,{A_HASH}\ny@a.example,{A_HASH}\n", Operator.for_user(bob)))
    assert result["x@b.example"] == ("error", "b.example is not one of your domains.")
    assert result["y@a.example"][0] == "new"


def test_it_rejects_a_file_without_known_columns(db):
    with pytest.raises(csv_io.ImportFileError, match="first line"):
        csv_io.plan("name,size\nx,1\n", AS_ROOT)


def test_the_command_dry_run_lists_rows_and_writes_nothing(tmp_path, domain_a, capsys):
    path = tmp_path / "in.csv"
    path.write_text(f"email,password,quota\nnew@a.example,{A_HASH},1G\n")
    call_command("import", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "line 2: new" in out and "new@a.example" in out
    assert not Mailbox.objects.exists()


def test_the_command_applies_and_names_the_local_user(tmp_path, domain_a, capsys):
    path = tmp_path / "in.csv"
    path.write_text(f"email,password,quota\nnew@a.example,{STRONG},1G\n")
    call_command("import", str(path))
    captured = capsys.readouterr()
    assert "1 new" in captured.out
    assert "hashing passwords: 1/1" in captured.err
    assert Mailbox.objects.get(email="new@a.example").check_password(STRONG)
    entry = AuditEntry.objects.get(object_repr="new@a.example")
    assert entry.actor.startswith("cli:") and entry.via == "import"


def test_the_command_refuses_a_file_with_errors(tmp_path, domain_a):
    path = tmp_path / "in.csv"
    path.write_text("email,password\nnew@a.example,\n")
    with pytest.raises(CommandError, match="1 row"):
        call_command("import", str(path))


def _upload(text, name="in.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_the_browser_import_is_a_dry_run_then_an_apply_of_the_same_file(client, bob):
    client.force_login(bob)
    text = f"email,password,quota\nnew@a.example,{STRONG},1G\n"
    dry = client.post(reverse("bulk-import"), {"file": _upload(text)})
    page = dry.content.decode()
    assert dry.status_code == 200 and "new@a.example" in page and not Mailbox.objects.exists()
    checked = re.search(r'name="checked" value="([0-9a-f]+)"', page).group(1)
    assert checked == hashlib.sha256(text.encode()).hexdigest()

    other = client.post(reverse("bulk-import-apply"), {"file": _upload(text + "x@a.example,{PLAIN}x,0\n"), "checked": checked})
    assert other.status_code == 400 and not Mailbox.objects.exists()

    applied = client.post(reverse("bulk-import-apply"), {"file": _upload(text), "checked": checked}, REMOTE_ADDR="192.0.2.9")
    body = b"".join(applied.streaming_content).decode()
    assert "hashing passwords: 1 of 1" in body and "Imported 1 new" in body
    assert Mailbox.objects.get(email="new@a.example").check_password(STRONG)
    entry = AuditEntry.objects.get(object_repr="new@a.example")
    assert (entry.actor, entry.address, entry.via) == ("bob", "192.0.2.9", "import")


def test_the_browser_dry_run_shows_reasons(client, alice, domain_a):
    client.force_login(alice)
    page = client.post(reverse("bulk-import"), {"file": _upload("email,password\nnew@zzz.example,{PLAIN}x\n")}).content.decode()
    assert "There is no domain zzz.example" in page and "Apply" not in page
