#!/bin/sh
# The image's commands (the first argument):
#   run      as `make run`: apply migrations, load the catalog, serve (the default)
#   migrate  apply migrations and load the catalog, then exit (run once per deploy)
#   serve    serve only: gunicorn -c gunicorn.conf.py wsgi:app
#   anything else runs as given, e.g. `flask --app app create-user …`
set -eu
cd "$(dirname "$0")/.."

migrate() {
    flask --app app db upgrade
    flask --app app prepare
}

serve() {
    exec gunicorn -c gunicorn.conf.py wsgi:app
}

command="${1:-run}"
case "$command" in
    run) migrate; serve ;;
    migrate) migrate ;;
    serve) serve ;;
    *) exec "$@" ;;
esac
