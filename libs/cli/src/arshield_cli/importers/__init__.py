"""Importers turn an ERP's receivables history into arshield's ERP events."""
