from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class WarehouseConfig(AppConfig):
    name = "warehouse"
    verbose_name = "Warehouse"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from warehouse.models import Customer, Item, Status
        from warehouse.versions import code_deployed, dimension_changed

        for dimension in (Customer, Item, Status):
            uid = f"data-version-{dimension.__name__}"
            post_save.connect(dimension_changed, sender=dimension, dispatch_uid=uid)
            post_delete.connect(dimension_changed, sender=dimension, dispatch_uid=uid)
        post_migrate.connect(code_deployed, sender=self, dispatch_uid="data-version-migrate")
