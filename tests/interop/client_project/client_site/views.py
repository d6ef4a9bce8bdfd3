"""Views through which the tests see what the centralauth client made of the provider's answers."""
from django.contrib.auth.models import Permission
from django.http import JsonResponse


def whoami(request):
    """The request's user; `permissions` are the user's own permission rows, which the client's
    backend replaces with the provider's effective permissions on every sync."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse(
            {
                "is_authenticated": False,
                "username": "",
                "first_name": "",
                "last_name": "",
                "email": "",
                "is_superuser": False,
                "is_staff": False,
                "is_active": False,
                "permissions": [],
            }
        )
    permissions = user.user_permissions.select_related("content_type")
    return JsonResponse(
        {
            "is_authenticated": True,
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "is_superuser": user.is_superuser,
            "is_staff": user.is_staff,
            "is_active": user.is_active,
            "permissions": sorted(
                "{}.{}".format(p.content_type.app_label, p.codename) for p in permissions
            ),
        }
    )


def local_perms(request):
    """Every permission of this project, as `sync_perms` registers them."""
    return JsonResponse(
        {
            "permissions": sorted(
                "{}.{}".format(p.content_type.app_label, p.codename)
                for p in Permission.objects.select_related("content_type")
            )
        }
    )
