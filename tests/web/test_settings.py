"""Settings: the timezone (an IANA name) that the free-model daily reset follows."""

from __future__ import annotations


def test_the_timezone_can_be_changed(signed_in, app, user):
    html = signed_in.get("/dashboard/settings").get_data(as_text=True)
    assert '<option selected value="America/New_York">' in html and 'value="Europe/Paris"' in html
    response = signed_in.post_form("/dashboard/settings", {"timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert "resets at midnight Asia/Tokyo" in signed_in.get("/dashboard/settings").get_data(as_text=True)

    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        assert db.session.get(User, user[0]).timezone == "Asia/Tokyo"
    usage = signed_in.get("/dashboard/usage").get_data(as_text=True)
    assert "Asia/Tokyo" in usage and " JST" in usage


def test_an_unknown_timezone_is_refused(signed_in, app, user):
    response = signed_in.post_form("/dashboard/settings", {"timezone": "Mars/Olympus_Mons"})
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)

    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        assert db.session.get(User, user[0]).timezone == "America/New_York"
