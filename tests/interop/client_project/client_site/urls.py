from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    # The callback redirects to admin:index when no `next` was given.
    path("admin/", admin.site.urls),
    path("centralauth/", include("centralauth.client.urls")),
    path("whoami/", views.whoami),
    path("local-perms/", views.local_perms),
]
