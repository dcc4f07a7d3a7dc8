"""The platform's answer to "where is my application?": GET /v1/applications/by-number/{number}
on the server, and PlatformClient.get_application on the terminal's side."""

from __future__ import annotations

import json

import pytest
from sync_support import InProcessPlatform
from test_platform_server import application, assert_error, decision, platform  # noqa: F401

from kiosk.sync.errors import AuthRejected


def test_history_by_number_oldest_first(platform):  # noqa: F811
    app = application(number="H0001-K01-20261102-0001")
    platform.file(app)
    url = f"/v1/applications/{app['id']}/decision"
    platform.client.post(url, json=decision("return"), headers=platform.k01)
    platform.client.post(url, json=decision("accept"), headers=platform.k01)
    before = platform.counts()
    r = platform.client.get("/v1/applications/by-number/H0001-K01-20261102-0001",
                            headers=platform.k02)  # any terminal of the hall may ask
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["number"], body["item_code"], body["status"]) == (
        app["id"], app["number"], app["item_code"], "accepted")
    assert [h["status"] for h in body["history"]] == ["received", "returned", "accepted"]
    assert body["history"][1]["detail"]["missing"] == ["营业执照复印件"]
    assert "applicant" not in body and "张三" not in r.text  # nothing personal on the wire
    assert platform.counts() == before  # a read changes nothing


def test_unknown_and_other_halls_numbers_are_404(platform):  # noqa: F811
    platform.file(application(number="H0001-K01-20261102-0002"))
    assert_error(platform.client.get("/v1/applications/by-number/H0001-K01-20261102-0009",
                                     headers=platform.k01), 404, "not_found")
    # another hall learns nothing, not even that the number exists
    assert_error(platform.client.get("/v1/applications/by-number/H0001-K01-20261102-0002",
                                     headers=platform.other_hall), 404, "not_found")


def test_needs_a_terminal_token(platform):  # noqa: F811
    path = "/v1/applications/by-number/H0001-K01-20261102-0001"
    assert_error(platform.client.get(path), 401, "unauthorized")
    assert_error(platform.client.get(path, headers=platform.admin), 403, "forbidden")
    assert_error(platform.client.get("/v1/applications/by-number/" + "N" * 65,
                                     headers=platform.k01), 422, "invalid")


def test_client_get_application(tmp_path):
    p = InProcessPlatform(tmp_path)
    try:
        client = p.client(p.enroll())
        app = application(number="H0001-K01-20261102-0003")
        assert client.post_batch("applications", [json.dumps(app)])[0]["result"] == "accepted"
        found = client.get_application("H0001-K01-20261102-0003")
        assert found is not None and found["status"] == "received"
        assert client.get_application("H0001-K01-20261102-0404") is None
        assert client.get_application("a/b?c") is None  # quoted: never another path
        with pytest.raises(AuthRejected):
            p.client("not-a-token").get_application("H0001-K01-20261102-0003")
    finally:
        p.close()
