from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.catalog_list, name="list"),
    path("new/", views.edit, name="new"),
    path("lists/", views.lists, name="lists"),
    path("lists/<str:kind>.<str:fmt>", views.list_export, name="list_export"),
    path("important/", views.important, name="important"),
    path("oversight/", views.oversight, name="oversight"),
    path("projects/", views.projects, name="projects"),
    path("projects/<int:project_id>/accept/", views.accept_project, name="accept_project"),
    path("suggestions/<int:suggestion_id>/decide/", views.decide_suggestion, name="decide_suggestion"),
    path("<int:resource_id>/", views.detail, name="detail"),
    path("<int:resource_id>/edit/", views.edit, name="edit"),
    path("<int:resource_id>/submit/", views.submit, name="submit"),
    path("<int:resource_id>/basis-change/", views.record_basis_change, name="basis_change"),
    path("<int:resource_id>/compare/", views.compare, name="compare"),
    path("<int:resource_id>/discover/", views.discover, name="discover"),
]
