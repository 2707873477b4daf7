"""The web side's Flask extensions, created unbound and initialised by create_app():
log-ins (Flask-Login), CSRF tokens (Flask-WTF) and the form throttles (Flask-Limiter)."""

from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from lumyx.limits import plans as rate_limits

login_manager = LoginManager()
csrf = CSRFProtect()

# Flask-Limiter throttles web forms with @limiter.limit(...), counted per client
# address on the counter store shared by all workers (lumyx.limits.storage).
# API requests skip it: their plan limits are counted by lumyx.limits.plans.PlanLimiter.
limiter = Limiter(key_func=rate_limits.client_address)
