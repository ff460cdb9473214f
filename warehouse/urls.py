from django.urls import path

from . import views

app_name = "warehouse"
urlpatterns = [
    path("", views.freshness_board, name="freshness"),
    path("usage/", views.usage, name="usage"),
    path("governance/", views.governance, name="governance"),
    path("<int:resource_id>/", views.resource_data, name="resource"),
    path("<int:resource_id>/template.<str:fmt>", views.upload_template, name="template"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<int:batch_id>/report.csv", views.batch_report, name="batch_report"),
]
