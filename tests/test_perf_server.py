"""``hub serve``'s access log: the lean logger writes the same line gunicorn's own does."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from hub.server import ACCESS_LOG_FORMAT, HubLogger


class Response:
    status = "206 Partial Content"
    sent = 1234
    headers = [("Content-Type", "application/json"), ("Set-Cookie", "session=secret")]


class Request:
    headers = [("HOST", "hub.example.org"), ("AUTHORIZATION", "Bearer hub_secret-token")]


ENVIRON = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/oauth2/callback?code=one-time-code",
    "PATH_INFO": "/oauth2/callback",
    "QUERY_STRING": "code=one-time-code",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "192.0.2.7",
    "HTTP_AUTHORIZATION": "Bearer hub_secret-token",
}


def access_line(logger_class: type[Logger], log_format: str, caplog) -> str:
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", log_format)
    logger = logger_class(config)
    logger.now = lambda: "[23/Nov/2026:16:00:00 +0000]"  # type: ignore[method-assign]
    logger.access_log.propagate = True
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        caplog.clear()
        logger.access(Response, Request, ENVIRON, dt.timedelta(seconds=1, microseconds=234_567))
    (record,) = [r for r in caplog.records if r.name == "gunicorn.access"]
    return record.getMessage()


def test_the_hub_access_line_is_gunicorns(caplog):
    ours = access_line(HubLogger, ACCESS_LOG_FORMAT, caplog)
    assert ours == access_line(Logger, ACCESS_LOG_FORMAT, caplog)
    assert ours == '192.0.2.7 [23/Nov/2026:16:00:00 +0000] "GET /oauth2/callback" 206 1234 1234ms'


@pytest.mark.parametrize("field", ["%({authorization}i)s", "%({set-cookie}o)s", "%(r)s", "%(q)s"])
def test_no_header_or_query_can_reach_the_access_log(caplog, field):
    line = access_line(HubLogger, f"{ACCESS_LOG_FORMAT} {field}", caplog)
    assert line.endswith(" -")
    assert "secret" not in line and "one-time-code" not in line
