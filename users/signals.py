"""Signals the write API sends, for apps that build on users (aliases) to keep their rows right.

Both are sent inside the deleting transaction, before the row goes, with the operator and
whether the person asked to remove what refers to it from outside (alias rows in other
domains that forward to the mailboxes, alias rows whose source is in the domain but that
point at another domain's id). Receivers return how many rows they removed.
"""

from django.dispatch import Signal

# mailbox, operator, remove_forwarding
mailbox_deleting = Signal()
# domain, operator, remove_forwarding
domain_deleting = Signal()


def removed_by_receivers(signal, **kwargs):
    return sum(count for _receiver, count in signal.send(**kwargs) if count)
