"""The web app's routes: the login, the pages (HTML) and the API (``/api/v1``, JSON/CSV/Parquet)."""
