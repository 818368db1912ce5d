"""The second factor's tables: TOTP devices are django-otp's own (otp_totp); recovery codes
are a django-otp device of ours, because django-otp's static device keeps its codes in clear."""

from django.db import models, transaction
from django.utils import timezone
from django_otp.models import Device

from mailadmin.staff import codes


class RecoveryCodeDevice(Device):
    """A staff account's ten single-use recovery codes, checked like any other device."""

    class Meta:
        db_table = "mailadmin_staff_recovery_device"

    def verify_token(self, token):
        digest = codes.digest(token)
        if digest is None:
            return False
        with transaction.atomic():
            # One UPDATE marks the code used: two requests racing with one code cannot both win.
            used = self.codes.filter(digest=digest, used_at__isnull=True).update(used_at=timezone.now())
        return used == 1

    def remaining(self):
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    # hex SHA-256 of the code (mailadmin.staff.codes); the code itself is shown once.
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mailadmin_staff_recovery_code"
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="recovery_code_uniq")]
