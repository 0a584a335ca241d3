"""The infrastructure every service built from this template shares: leave it alone.

Each module owns one concern and is wired into the app by its `init_app` (see `create_app`):
the context object and correlation ids, configuration, logging, JSON errors, security
headers, the database plumbing, server-side sessions, CSRF, rate limits, password hashing,
background work and the outgoing HTTP client. None of it knows the service's models or
views; the application modules beside this package (`models`, `users`, `auth`, `items`...)
are the code to copy and change.
"""
