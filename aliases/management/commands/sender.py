import sys

from aliases import sender_rights
from mailadmin.cli import ActionCommand


class Command(ActionCommand):
    help = (
        "Ask the sender-login query the way Postfix does. `check LOGIN ADDRESS` exits 0 when Postfix "
        "would accept LOGIN sending as ADDRESS and 1 when it rejects it; `owners ADDRESS` lists who may; "
        "`rights LOGIN` lists what LOGIN may send as."
    )

    actions = ("check", "owners", "rights")

    def add_actions(self, actions):
        check = actions.add_parser("check", help="would Postfix let LOGIN send as ADDRESS?")
        check.add_argument("login")
        check.add_argument("address", help="the MAIL FROM address; '' or '<>' for the null sender")
        owners = actions.add_parser("owners", help="who may send as ADDRESS, and which key says so")
        owners.add_argument("address")
        rights = actions.add_parser("rights", help="what LOGIN may send as")
        rights.add_argument("login")


    def handle_check(self, login, address, **options):
        decision = sender_rights.check(login, address)
        self.stdout.write(decision.postfix_reply)
        if decision.rewriting is not None and decision.rewriting.changed:
            self.stdout.write(f"# {decision.rewriting.describe()}")
        self.stdout.write(f"# {decision.reason}")
        if not decision.allowed:
            sys.exit(1)

    def handle_owners(self, address, **options):
        answer = sender_rights.who_may_send_as(address)
        for owner in answer.owners:
            self.stdout.write(owner)
        self.stdout.write(f"# {answer.reason}")

    def handle_rights(self, login, **options):
        for right in sender_rights.rights_of(login):
            self.stdout.write(f"{right.pattern}\t{right.kind}\t{right.description(login)}")
            if right.except_:
                more = " and more" if right.more_exceptions else ""
                self.stdout.write(f"\texcept {', '.join(right.except_)}{more}")
