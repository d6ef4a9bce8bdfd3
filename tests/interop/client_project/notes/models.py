"""A model of the client's own, so that the client has permissions to register at the provider."""
from django.db import models


class Note(models.Model):
    text = models.TextField()

    class Meta:
        permissions = [("publish_note", "Can publish note")]
