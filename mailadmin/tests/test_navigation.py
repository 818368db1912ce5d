"""The top navigation: each role's entries, the current page marked, links under the script prefix."""

import re

from django.urls import reverse, set_script_prefix

from mailadmin.navigation import topbar


def menu(response):
    nav = re.search(r'<nav class="nav" aria-label="Main">(.*?)</nav>', response.content.decode(), re.S).group(1)
    return links(nav)


def links(html):
    return re.findall(r'<a href="([^"]*)"( aria-current="page")?>([^<]*)</a>', html)


def test_a_superadmin_a_domain_admin_and_a_mailbox_user_each_see_their_entries(client, alice, bob, jane):
    client.force_login(alice)
    labels = [label for _href, _current, label in menu(client.get(reverse("domain-list")))]
    assert {"Domains", "Staff", "Django admin", "Server config"} <= set(labels)
    client.force_login(bob)
    labels = [label for _href, _current, label in menu(client.get(reverse("domain-list")))]
    assert "Domains" in labels and not {"Staff", "Django admin", "Server config"} & set(labels)
    client.force_login(jane)
    assert [label for _href, _current, label in menu(client.get(reverse("account")))] == ["My mailbox"]


def test_the_current_page_is_marked(client, alice):
    client.force_login(alice)
    marked = [label for _href, current, label in menu(client.get(reverse("mailbox-list"))) if current]
    assert marked == ["Mailboxes"]


def test_links_carry_the_script_prefix_the_panel_is_served_under(rf, alice):
    """The links are reversed once per prefix: a panel served under /panel/ and one at the root differ."""
    request = rf.get("/domains/")
    request.user = alice

    def links_under(prefix):
        set_script_prefix(prefix)
        try:
            return {label: href for href, _current, label in links(topbar(request)["nav"])}
        finally:
            set_script_prefix("/")

    at_root = links_under("/")
    assert at_root["Domains"] == "/domains/"
    assert links_under("/panel/")["Domains"] == "/panel/domains/"
    assert links_under("/") == at_root
