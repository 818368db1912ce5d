from django.urls import path

from users import views

urlpatterns = [
    path("domains/", views.domain_list, name="domain-list"),
    path("domains/new/", views.domain_create, name="domain-create"),
    path("domains/<str:name>/", views.domain_detail, name="domain-detail"),
    path("domains/<str:name>/delete/", views.domain_delete, name="domain-delete"),
    path("mailboxes/", views.mailbox_list, name="mailbox-list"),
    path("mailboxes/new/", views.mailbox_create, name="mailbox-create"),
    path("mailboxes/<int:pk>/", views.mailbox_detail, name="mailbox-detail"),
    path("mailboxes/<int:pk>/quota/", views.mailbox_quota, name="mailbox-quota"),
    path("mailboxes/<int:pk>/password/", views.mailbox_password, name="mailbox-password"),
    path("mailboxes/<int:pk>/delete/", views.mailbox_delete, name="mailbox-delete"),
]
