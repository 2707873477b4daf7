"""gunicorn entry point. gevent patches the standard library before anything
else imports sockets, threads or SSL."""

from gevent import monkey

monkey.patch_all()

from lumyx import create_app  # noqa: E402
from lumyx.billing import beside, janitor  # noqa: E402
from lumyx.db import checkpoints  # noqa: E402
from lumyx.observability import tracing  # noqa: E402

app = create_app()
janitor.start_janitor(app)
checkpoints.start(app)  # SQLite only
beside.start(app)  # PostgreSQL only
# Each worker imports this after the fork: its own span exporter, when one is configured.
tracing.configure()
