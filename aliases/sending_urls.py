from django.urls import path

from aliases import sending_views

urlpatterns = [
    path("mailboxes/<int:pk>/sending/", sending_views.mailbox_sending, name="mailbox-sending"),
    path("sending/", sending_views.sending_lookup, name="sending-lookup"),
    path("server-config/", sending_views.postfix_config, name="postfix-config"),
]
