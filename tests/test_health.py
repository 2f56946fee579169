def test_healthz_reports_the_database_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unknown_route_answers_the_json_error_shape(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert response.json["error"]["message"]


def test_wrong_method_answers_405_with_allow(client):
    response = client.put("/healthz")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
