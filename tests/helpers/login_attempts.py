"""One "worker" for the sign-in limit test: ``python -m tests.helpers.login_attempts DATABASE_URL COUNT``.

Its own process and its own app against the shared database, as each of
gunicorn's workers is; it tries a wrong password COUNT times and prints the
answers' statuses as JSON.
"""

from __future__ import annotations

import json
import sys

from loyalty.app import create_app


def main(url: str, count: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    statuses = [
        client.post(
            "https://localhost/admin/login", data={"email": "owner@example.com", "password": "a wrong guess"}
        ).status_code
        for _ in range(count)
    ]
    print(json.dumps(statuses))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
