"""Permission rows (format in permission_rows.py) for the pages issue 10 added."""

ROWS = [
    # The icon is public: a redirect to the static file for everyone.
    {"name": "favicon", "GET": "302 302 302 302 302", "POST": "302 302 302 302 302"},
]
