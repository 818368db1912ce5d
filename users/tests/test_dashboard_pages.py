from django.urls import reverse

from users import hash_inventory
from users.models import Mailbox

SCHEMES = {
    "blf": "{BLF-CRYPT}$2y$05$B73qez2RL79n1yPAPUwe6O33Yt.8xgSwlApHFU3nGHaRXs1ce0qea",
    "md5": "{MD5-CRYPT}$1$salt$3Ok0xg9F8nVfsz2NxCAaS/",
    "plain": "{plain}secret",
    "bare": "$1$salt$3Ok0xg9F8nVfsz2NxCAaS/",
}


def mailbox(domain, local, stored):
    return Mailbox.objects.create(domain=domain, email=f"{local}@{domain.name}", password=stored)


def test_the_inventory_counts_mailboxes_per_scheme_and_flags_weak_ones(client, alice, domain_a, domain_b):
    mailbox(domain_a, "one", SCHEMES["blf"])
    mailbox(domain_a, "two", SCHEMES["blf"])
    mailbox(domain_a, "old", SCHEMES["md5"])
    mailbox(domain_b, "clear", SCHEMES["plain"])
    mailbox(domain_b, "bare", SCHEMES["bare"])
    client.force_login(alice)
    response = client.get(reverse("dashboard"))
    rows = {row.key: (row.count, row.weak) for row in response.context["inventory"]}
    assert rows == {"BLF-CRYPT": (2, False), "MD5-CRYPT": (1, True), "PLAIN": (1, True), "none": (1, True)}
    flagged = {row.key: [m.email for m in boxes] for row, boxes in response.context["flagged"]}
    assert flagged == {"MD5-CRYPT": ["old@a.example"], "PLAIN": ["clear@b.example"], "none": ["bare@b.example"]}
    assert response.context["mailbox_count"] == 5
    assert b"MD5 (no prefix)" in response.content  # Dovecot's SQL default scheme


def test_a_domain_admins_inventory_covers_only_their_domains(client, bob, domain_b):
    mailbox(bob.domain_grants.get().domain, "old", SCHEMES["md5"])
    mailbox(domain_b, "clear", SCHEMES["plain"])
    client.force_login(bob)
    response = client.get(reverse("dashboard"))
    assert [(row.key, row.count) for row in response.context["inventory"]] == [("MD5-CRYPT", 1)]
    assert [(row.key, [m.email for m in boxes]) for row, boxes in response.context["flagged"]] == [
        ("MD5-CRYPT", ["old@a.example"])]
    assert response.context["domain_count"] == 1


def test_each_flagged_scheme_lists_some_of_its_own_mailboxes(client, alice, domain_a, domain_b):
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"old{i:02}@a.example", password=SCHEMES["md5"]) for i in range(25)
    )
    mailbox(domain_b, "clear", SCHEMES["plain"])
    mailbox(domain_b, "Clear2", SCHEMES["plain"].upper())
    mailbox(domain_b, "new", SCHEMES["blf"])
    client.force_login(alice)
    flagged = {row.key: [m.email for m in boxes] for row, boxes in client.get(reverse("dashboard")).context["flagged"]}
    assert set(flagged) == {"MD5-CRYPT", "PLAIN"}
    assert len(flagged["MD5-CRYPT"]) == hash_inventory.SHOWN
    assert all(email.startswith("old") for email in flagged["MD5-CRYPT"]) and flagged["MD5-CRYPT"] == sorted(flagged["MD5-CRYPT"])
    assert flagged["PLAIN"] == ["Clear2@b.example", "clear@b.example"]


def test_the_inventory_is_counted_by_the_database(domain_a, django_assert_num_queries):
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{i}@a.example", password=SCHEMES["md5" if i % 3 else "blf"])
        for i in range(300)
    )
    with django_assert_num_queries(1):
        rows = hash_inventory.schemes(Mailbox.objects.all())
    assert {row.key: row.count for row in rows} == {"MD5-CRYPT": 200, "BLF-CRYPT": 100}


def test_the_mailbox_list_filters_by_scheme(client, alice, domain_a):
    mailbox(domain_a, "old", SCHEMES["md5"])
    mailbox(domain_a, "new", SCHEMES["blf"])
    mailbox(domain_a, "bare", SCHEMES["bare"])
    client.force_login(alice)
    emails = lambda key: [m.email for m in client.get(reverse("mailbox-list"), {"scheme": key}).context["page"]]
    assert emails("MD5-CRYPT") == ["old@a.example"]
    assert emails("none") == ["bare@a.example"]


def test_staff_without_domains_see_an_empty_dashboard(client, dave, domain_a):
    mailbox(domain_a, "one", SCHEMES["blf"])
    client.force_login(dave)
    response = client.get(reverse("dashboard"))
    assert (response.context["domain_count"], response.context["mailbox_count"]) == (0, 0)
