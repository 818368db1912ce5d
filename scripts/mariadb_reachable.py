"""Exit 0 when the MariaDB of a mysql:// URL answers; --describe prints it without the password."""

import sys

import environ


def main(argv):
    describe = "--describe" in argv
    url = [arg for arg in argv if not arg.startswith("--")][0]
    config = environ.Env.db_url_config(url)
    if describe:
        print(f"{config.get('USER')}@{config.get('HOST') or 'localhost'}:{config.get('PORT') or 3306}/{config['NAME']}")
        return 0
    import MySQLdb

    try:
        MySQLdb.connect(
            host=config.get("HOST") or "localhost",
            port=int(config.get("PORT") or 3306),
            user=config.get("USER") or "root",
            password=config.get("PASSWORD") or "",
            connect_timeout=3,
        ).close()
    except MySQLdb.Error:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
