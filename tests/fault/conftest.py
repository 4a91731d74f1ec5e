"""Fixtures for the fault and crash suite: the black-box suite's own
(tests/http/conftest.py: the `otpd` factory, `redis_server`), loaded under
another module name so that both folders can keep a conftest.py, and its
helper modules (gateways.py, helpers.py, tcpproxy.py) on the path."""

import importlib.util
import sys
from pathlib import Path

HTTP = Path(__file__).resolve().parents[1] / "http"
sys.path.insert(0, str(HTTP))

_spec = importlib.util.spec_from_file_location("http_conftest",
                                               HTTP / "conftest.py")
http_conftest = importlib.util.module_from_spec(_spec)
sys.modules["http_conftest"] = http_conftest
_spec.loader.exec_module(http_conftest)

otpd = http_conftest.otpd
redis_server = http_conftest.redis_server
pytest_runtest_makereport = http_conftest.pytest_runtest_makereport
