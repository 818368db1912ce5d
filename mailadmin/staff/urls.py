from django.urls import path

from mailadmin.staff import views

urlpatterns = [
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/new/", views.staff_create, name="staff-create"),
    path("staff/<int:pk>/", views.staff_detail, name="staff-detail"),
    path("staff/<int:pk>/grant/", views.staff_grant, name="staff-grant"),
    path("staff/<int:pk>/grants/<int:grant_pk>/revoke/", views.staff_revoke, name="staff-revoke"),
    path("staff/<int:pk>/superadmin/", views.staff_superadmin, name="staff-superadmin"),
    path("staff/<int:pk>/deactivate/", views.staff_deactivate, name="staff-deactivate"),
    path("staff/<int:pk>/activate/", views.staff_activate, name="staff-activate"),
    path("staff/<int:pk>/delete/", views.staff_delete, name="staff-delete"),
    path("staff/<int:pk>/password-link/", views.staff_password_link, name="staff-password-link"),
    path("staff/welcome/<uidb64>/<token>/", views.StaffSetPasswordView.as_view(), name="staff-set-password"),
    # The former domain admins page.
    path("admins/", views.old_domain_admins, name="domain-admins"),
    path("login/code/", views.login_code, name="login-code"),
    path("security/", views.my_security, name="my-security"),
    path("security/enrol/", views.security_enrol, name="security-enrol"),
    path("security/recovery-codes/", views.security_recovery_codes, name="security-recovery-codes"),
    path("security/disable/", views.security_disable, name="security-disable"),
    path("security/confirm/", views.security_reauth, name="security-reauth"),
]
