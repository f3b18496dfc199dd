"""An independent WebSub hub (the flask-websub package) and a subscriber, on loopback, for
tests/it/websub.rs.

    python websub_hub.py PORT DATABASE

The hub is at /hub (flask-websub's own code, with Celery tasks run at once). /callback is a
subscriber: it answers the hub's verification of intent, and for every delivery records the
body and whether its X-Hub-Signature is the HMAC of the body under the secret it subscribed
with. /received lists the deliveries as JSON.
"""

import hashlib
import hmac
import json
import sys
import threading

from celery import Celery
from flask import Flask, request
from flask_websub.hub import Hub, SQLite3HubStorage

SECRET = "tidings-test-secret"

port, database = int(sys.argv[1]), sys.argv[2]
app = Flask(__name__)
app.config["PUBLISH_SUPPORTED"] = True
app.config["HUB_MIN_LEASE_SECONDS"] = 60
celery = Celery("hub", broker="memory://")
celery.conf.task_always_eager = True
hub = Hub(SQLite3HubStorage(database), celery, REQUEST_TIMEOUT=5, SIGNATURE_ALGORITHM="sha256")
app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))

received = []
lock = threading.Lock()


@app.route("/callback", methods=["GET", "POST"])
def callback():
    if request.method == "GET":
        return request.args.get("hub.challenge", ""), 200
    body = request.get_data()
    algorithm, _, signature = request.headers.get("X-Hub-Signature", "").partition("=")
    expected = hmac.new(SECRET.encode(), body, getattr(hashlib, algorithm or "sha256")).hexdigest()
    with lock:
        received.append(
            {
                "body": body.decode("utf-8", "replace"),
                "signed": hmac.compare_digest(signature, expected),
                "link": request.headers.get("Link", ""),
            }
        )
    return "", 204


@app.route("/received")
def deliveries():
    with lock:
        return json.dumps(received), 200, {"Content-Type": "application/json"}


@app.route("/ready")
def ready():
    return "ok"


app.run(host="127.0.0.1", port=port, threaded=True)
