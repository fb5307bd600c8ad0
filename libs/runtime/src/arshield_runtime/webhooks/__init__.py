"""Outbound Standard Webhooks, written once for every partner (collection agencies, insurers):
endpoints with sealed secrets and rotation grace (`tables`, `secrets`, `admin`), target checks
and address pinning (`targets`), signing and verifying (`signing`), the deliveries and their
dispatcher (`store`, `dispatcher`), the admin API (`api`) and signed idempotent callbacks
(`callbacks`). A service declares its tables with `webhook_tables`, names its `Partner`, and
mounts `api.admin_router`; its settings subclass `settings.WebhookSettings`."""
