from django.urls import path

from aliases import views

urlpatterns = [
    path("aliases/", views.alias_list, name="alias-list"),
    path("aliases/new/", views.alias_create, name="alias-create"),
    path("aliases/preview/", views.alias_preview, name="alias-preview"),
    # The former one-row pages, kept for bookmarks and links: they lead to the address's page.
    path("aliases/<int:pk>/edit/", views.alias_edit, name="alias-edit"),
    path("aliases/<int:pk>/delete/", views.alias_delete, name="alias-delete"),
    # An address (or @domain for a catch-all) as stored, with its destinations.
    path("aliases/<str:source>/", views.alias_address, name="alias-address"),
    path("aliases/<str:source>/delete/", views.alias_address_delete, name="alias-address-delete"),
]
