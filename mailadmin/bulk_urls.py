from django.urls import path

from mailadmin import bulk_views

urlpatterns = [
    path("import/", bulk_views.import_page, name="bulk-import"),
    path("import/apply/", bulk_views.import_apply, name="bulk-import-apply"),
    path("export/", bulk_views.export, name="bulk-export"),
    path("audit/", bulk_views.audit_log, name="audit-log"),
    path("audit/export.csv", bulk_views.audit_export, name="audit-export"),
]
