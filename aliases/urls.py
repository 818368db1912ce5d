from django.urls import path

from aliases import views

urlpatterns = [
    path("aliases/", views.alias_list, name="alias-list"),
    path("aliases/new/", views.alias_create, name="alias-create"),
    path("aliases/<int:pk>/edit/", views.alias_edit, name="alias-edit"),
    path("aliases/<int:pk>/delete/", views.alias_delete, name="alias-delete"),
    path("aliases/preview/", views.alias_preview, name="alias-preview"),
]
