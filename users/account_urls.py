from django.urls import path

from users import account_views as views

urlpatterns = [
    # The mailbox user's own pages.
    path("me/", views.account, name="account"),
    path("me/password/", views.account_password, name="account-password"),
    path("me/recovery/", views.account_recovery, name="account-recovery"),
    # Forgotten passwords and reset links.
    path("password-reset/", views.password_reset_request, name="password-reset-request"),
    path("password-reset/sent/", views.password_reset_sent, name="password-reset-sent"),
    path("reset/set-password/", views.password_reset_set, name="password-reset-set"),
    path("reset/<str:token>/", views.password_reset_confirm, name="password-reset-confirm"),
    # Staff: the "make a reset link" button on a mailbox's page (POST).
    path("mailboxes/<int:pk>/reset-link/", views.mailbox_reset_link, name="mailbox-reset-link"),
]
