from django.contrib import admin
from django.urls import include, path

from catalog import views as catalog_views
from workflow import views as workflow_views

from .api import urls as api_urls
from .jobs import jobs_page

urlpatterns = [
    path("api/v1/", api_urls()),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", workflow_views.home, name="home"),
    path("", include("core.urls")),
    path("catalog.<str:fmt>", catalog_views.export_catalog, name="catalog_export"),
    path("api/3/action/<str:action>", catalog_views.ckan_action, name="ckan_action"),
    path("catalog/", include("catalog.urls")),
    path("cases/", include("workflow.urls")),
    path("data/", include("warehouse.urls")),
    path("share/", include("sharing.urls")),
    path("jobs/", jobs_page, name="jobs"),  # the background jobs' records, for the bureau
]

# Errors no view answers itself: JSON under /api/v1/, CKAN's envelope under /api/3/, zh-Hans pages elsewhere.
handler400 = "foundation.httperrors.bad_request"
handler403 = "foundation.httperrors.permission_denied"
handler404 = "foundation.httperrors.page_not_found"
handler500 = "foundation.httperrors.server_error"
