"""Input guards for the Django admin pages of other apps (mailadmin/admin_input.py).

Django imports each app's admin module in INSTALLED_APPS order: auth's and django-axes' models
are registered by now; the panel's own ModelAdmins (users, aliases) carry the guards themselves.
"""

from django.contrib import admin

from mailadmin.admin_input import guard

for _model_admin in list(admin.site._registry.values()):
    guard(_model_admin)

# The admin's sidebar repeats on every page what its breadcrumbs and index already offer (the
# panel's own pages are the everyday way in), and rendering it cost a change list 10-17 % of its
# CPU (bench/instructions.py).
admin.site.enable_nav_sidebar = False
