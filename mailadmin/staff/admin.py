from django.contrib import admin
from django.contrib.auth.models import Group, User
from django_otp.plugins.otp_totp.models import TOTPDevice

# Staff accounts and their second factor are managed on the panel's Staff and Security pages
# and with `manage.py staff`, which audit every change and ask for a recent re-authentication
# before making a superadmin. The Django admin's own pages would be a door around both.
for model in (User, Group, TOTPDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
