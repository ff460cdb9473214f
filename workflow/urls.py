from django.urls import path

from . import views

app_name = "workflow"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/transition/", views.take_transition, name="transition"),
]
