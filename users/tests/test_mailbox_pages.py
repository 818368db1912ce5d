import pytest
from django.urls import reverse

from aliases.models import Alias
from users.models import Mailbox

HASH = "{BLF-CRYPT}$2y$05$B73qez2RL79n1yPAPUwe6O33Yt.8xgSwlApHFU3nGHaRXs1ce0qea"
GOOD = "Brand-new-Passw0rd-77"


def new_mailbox(client, **fields):
    data = {"local_part": "sam", "domain": "a.example", "quota": "0", "password_mode": "type",
            "password1": GOOD, "password2": GOOD, **fields}
    return client.post(reverse("mailbox-create"), data)


def test_a_mailbox_is_created_with_a_typed_password(client, bob):
    client.force_login(bob)
    response = new_mailbox(client, local_part="Sam", quota="500M")
    mailbox = Mailbox.objects.get(email="sam@a.example")
    assert response.status_code == 302 and response.url == reverse("mailbox-detail", args=[mailbox.pk])
    assert mailbox.quota == 500 * 1024**2
    assert mailbox.check_password(GOOD)
    assert GOOD not in mailbox.password


def test_a_generated_password_is_shown_once_and_never_cached(client, bob):
    client.force_login(bob)
    response = new_mailbox(client, password_mode="generate", password1="", password2="")
    password = response.context["password"]
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert password.encode() in response.content
    assert Mailbox.objects.get(email="sam@a.example").check_password(password)
    # Nothing carries it further: the next page knows nothing of it.
    assert password.encode() not in client.get(reverse("mailbox-list")).content


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"password2": GOOD + "x"}, "password2", "The two passwords differ."),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"password1": "", "password2": ""}, "password1", "Type the new password"),
        ({"local_part": "a b"}, "local_part", "is not a valid mailbox name"),
        ({"local_part": ""}, "local_part", "This field is required."),
        ({"quota": "lots"}, "quota", "is not a size"),
        ({"domain": "b.example"}, "domain", "Select a valid choice"),
    ],
)
def test_bad_input_is_a_message_at_the_field(client, bob, domain_b, fields, field, message):
    client.force_login(bob)
    response = new_mailbox(client, **fields)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Mailbox.objects.filter(email="sam@a.example").exists()


def test_an_existing_address_is_a_field_error(client, bob, jane_mailbox):
    client.force_login(bob)
    response = new_mailbox(client, local_part="JANE")
    assert response.context["form"].errors["local_part"] == ["A mailbox with this address already exists."]


def test_the_list_searches_by_prefix_and_sorts(client, alice, domain_a, domain_b):
    for email, quota in [("anna@a.example", 5), ("bert@a.example", 1), ("anton@b.example", 9)]:
        Mailbox.objects.create(domain=domain_a if email.endswith("a.example") else domain_b,
                               email=email, password=HASH, quota=quota)
    client.force_login(alice)
    emails = lambda **q: [m.email for m in client.get(reverse("mailbox-list"), q).context["page"]]
    assert emails(q="an") == ["anna@a.example", "anton@b.example"]
    assert emails(q="@b.") == ["anton@b.example"]
    assert emails(sort="-quota") == ["anton@b.example", "anna@a.example", "bert@a.example"]
    assert emails(sort="nonsense") == ["anna@a.example", "anton@b.example", "bert@a.example"]


def test_the_list_costs_the_same_queries_for_many_mailboxes(client, alice, domain_a, django_assert_max_num_queries):
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{i:04}@a.example", password=HASH) for i in range(400)
    )
    client.force_login(alice)
    client.get(reverse("mailbox-list"))  # the kept figures count these rows, added behind the panel's back, once
    with django_assert_max_num_queries(5):
        response = client.get(reverse("mailbox-list"), {"after": "u0099@a.example"})
    assert response.context["page"].total.count == 400
    assert b"u0100@a.example" in response.content


def test_a_bad_page_number_shows_a_page_not_an_error(client, bob):
    client.force_login(bob)
    assert client.get(reverse("mailbox-list"), {"page": "zzz"}).status_code == 200
    assert client.get(reverse("mailbox-list"), {"page": "99999"}).status_code == 200
    assert client.get(reverse("mailbox-list"), {"after": "x" * 10_000}).status_code == 200
    assert client.get(reverse("mailbox-list"), {"before": "1:", "sort": "-quota"}).status_code == 200


def test_the_quota_changes_and_bad_quotas_are_field_errors(client, bob, jane_mailbox):
    client.force_login(bob)
    url = reverse("mailbox-quota", args=[jane_mailbox.pk])
    assert client.post(url, {"quota": "2G"}).status_code == 302
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.quota == 2 * 1024**3
    response = client.post(url, {"quota": "-1"})
    assert response.context["quota_form"].errors["quota"]
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.quota == 2 * 1024**3


def test_a_password_is_reset_to_a_typed_one(client, bob, jane_mailbox):
    client.force_login(bob)
    url = reverse("mailbox-password", args=[jane_mailbox.pk])
    response = client.post(url, {"password_mode": "type", "password1": GOOD, "password2": GOOD})
    assert response.status_code == 302
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.check_password(GOOD)


def test_a_reset_to_a_generated_password_shows_it_once(client, alice, jane_mailbox):
    client.force_login(alice)
    response = client.post(reverse("mailbox-password", args=[jane_mailbox.pk]), {"password_mode": "generate"})
    assert "no-store" in response["Cache-Control"]
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.check_password(response.context["password"])


def test_a_common_password_is_refused_at_the_field(client, bob, jane_mailbox):
    client.force_login(bob)
    before = Mailbox.objects.get(pk=jane_mailbox.pk).password
    response = client.post(reverse("mailbox-password", args=[jane_mailbox.pk]),
                           {"password_mode": "type", "password1": "password1234", "password2": "password1234"})
    assert "too common" in " ".join(response.context["form"].errors["password1"])
    assert Mailbox.objects.get(pk=jane_mailbox.pk).password == before


def test_the_delete_confirmation_says_the_mail_on_disk_stays(client, bob, jane_mailbox):
    Alias.objects.create(domain=jane_mailbox.domain, source="info@a.example", destination="jane@a.example")
    client.force_login(bob)
    url = reverse("mailbox-delete", args=[jane_mailbox.pk])
    page = client.get(url).content.decode()
    assert "/var/vmail/a.example/jane" in page and "not removed" in page
    assert "1 alias row forwards here" in page
    assert "will bounce" in page
    response = client.post(url, follow=True)
    assert not Mailbox.objects.filter(pk=jane_mailbox.pk).exists()
    assert "Its mail in /var/vmail/a.example/jane was not removed." in response.content.decode()


def test_the_delete_confirmation_says_mail_goes_to_the_catch_all_when_there_is_one(client, bob, jane_mailbox):
    # Postfix finds no row for the address any more and falls through to @domain.
    Alias.objects.create(domain=jane_mailbox.domain, source="@a.example", destination="boss@elsewhere.example")
    client.force_login(bob)
    page = client.get(reverse("mailbox-delete", args=[jane_mailbox.pk])).content.decode()
    assert "will go to the domain's catch-all, boss@elsewhere.example, instead of bouncing" in page
    assert "will bounce" not in page


def test_staff_without_domains_cannot_create_mailboxes(client, dave, domain_a):
    client.force_login(dave)
    assert b"You administer no domain yet" in client.get(reverse("mailbox-create")).content
    response = new_mailbox(client)
    assert "domain" in response.context["form"].errors


def test_deleting_a_mailbox_offers_to_remove_the_aliases_forwarding_to_it(client, bob, jane_mailbox):
    Alias.objects.create(domain=jane_mailbox.domain, source="info@a.example", destination="jane@a.example")
    Alias.objects.create(domain=jane_mailbox.domain, source="info@a.example", destination="kim@elsewhere.example")
    client.force_login(bob)
    url = reverse("mailbox-delete", args=[jane_mailbox.pk])
    page = client.get(url).content.decode()
    assert "info@a.example → jane@a.example" in page and 'name="remove_forwarding"' in page
    response = client.post(url, {"remove_forwarding": "1"}, follow=True)
    assert "1 alias row forwarding to it removed" in response.content.decode()
    assert list(Alias.objects.values_list("destination", flat=True)) == ["kim@elsewhere.example"]


def test_a_mailbox_deleted_without_the_choice_leaves_the_aliases(client, bob, jane_mailbox):
    Alias.objects.create(domain=jane_mailbox.domain, source="info@a.example", destination="jane@a.example")
    client.force_login(bob)
    client.post(reverse("mailbox-delete", args=[jane_mailbox.pk]))
    assert Alias.objects.filter(destination="jane@a.example").exists()


@pytest.fixture
def many_domains(monkeypatch, alice, domain_a):
    """alice administers more domains than a list offers (two, with the limit set to one)."""
    from users import forms

    monkeypatch.setattr(forms, "MAX_DOMAIN_CHOICES", 1)
    from users.models import Domain

    Domain.objects.create(name="xn--bcher-kva.example")
    return alice


def test_with_more_domains_than_a_list_offers_the_domain_is_typed(client, many_domains):
    client.force_login(many_domains)
    page = client.get(reverse("mailbox-create"), {"domain": "a.example"}).content.decode()
    assert "<select" not in page and "<option" not in page
    assert 'name="domain" value="a.example"' in page  # as the domain's page links here
    assert "Type the domain&#x27;s name" in page
    # Typed as a person types it: any case, the international form, a final dot.
    new_mailbox(client, local_part="sam", domain="A.Example.")
    new_mailbox(client, local_part="sam", domain="bücher.example")
    assert set(Mailbox.objects.values_list("email", flat=True)) == {"sam@a.example", "sam@xn--bcher-kva.example"}


@pytest.mark.parametrize("typed, message", [
    ("nowhere.example", "You administer no domain of that name."),
    ("b.example", "You administer no domain of that name."),  # it exists, but is not bob's
    ("a@b.example", "Enter a domain name without &#x27;@&#x27;, such as example.org."),
    ("", "This field is required."),
])
def test_a_typed_domain_that_is_not_the_persons_is_refused_at_the_field(client, bob, domain_b, monkeypatch, typed, message):
    from users import forms

    monkeypatch.setattr(forms, "MAX_DOMAIN_CHOICES", 0)
    client.force_login(bob)
    response = new_mailbox(client, domain=typed)
    assert response.status_code == 200
    assert response.context["form"].errors["domain"] == [message.replace("&#x27;", "'")]
    assert message in response.content.decode()
    assert not Mailbox.objects.exists()
