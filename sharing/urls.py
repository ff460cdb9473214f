from django.urls import path

from . import views

app_name = "sharing"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("request/<int:resource_id>/", views.request_share, name="request"),
    path("grants/<str:ref>/", views.grant_detail, name="grant"),
    path("corrections/", views.corrections, name="corrections"),
    path("new/<str:kind>/", views.new_case, name="new"),
    path("remote/", views.remote, name="remote"),
    path("supervision/", views.supervision, name="supervision"),
]
