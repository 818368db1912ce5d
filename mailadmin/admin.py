"""Input guards for the Django admin pages of other apps (mailadmin/admin_input.py).

Django imports each app's admin module in INSTALLED_APPS order: auth's and django-axes' models
are registered by now; the panel's own ModelAdmins (users, aliases) carry the guards themselves.
"""

from django.contrib import admin

from mailadmin.admin_input import guard

for _model_admin in list(admin.site._registry.values()):
    guard(_model_admin)
