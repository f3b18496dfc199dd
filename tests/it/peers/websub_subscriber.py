"""An independent WebSub subscriber (the flask-websub package's own), on loopback, for
tests/it/hub.rs.

    python websub_subscriber.py PORT DATABASE

POST /subscribe with form fields `topic` and `hub` makes flask-websub subscribe to the topic
through the hub: it sends the subscription request with a secret of its own, answers the hub's
verification of intent, and from then on hands each delivery whose X-Hub-Signature verifies
under that secret to its listeners. /received lists what reached the listener (topic and body)
as JSON; /subscribed lists the topics whose subscription the hub confirmed.
"""

import json
import sys
import threading

import flask_websub.subscriber as websub_subscriber
from flask import Flask, request
from flask_websub.subscriber import (
    SQLite3SubscriberStorage,
    SQLite3TempSubscriberStorage,
    Subscriber,
)

# flask-websub refuses to send a secret to a hub that is not https://, as the Recommendation
# advises for the open internet; these tests run on loopback, where there is no TLS to have.
websub_subscriber.is_secure = lambda url: True

port, database = int(sys.argv[1]), sys.argv[2]
app = Flask(__name__)
app.config["SERVER_NAME"] = f"127.0.0.1:{port}"
subscriber = Subscriber(
    SQLite3SubscriberStorage(database),
    SQLite3TempSubscriberStorage(database + ".temp"),
    REQUEST_TIMEOUT=5,
)
app.register_blueprint(subscriber.build_blueprint(url_prefix="/callbacks"))

received = []
subscribed = []
lock = threading.Lock()


@subscriber.add_listener
def on_delivery(topic_url, callback_id, body):
    with lock:
        received.append({"topic": topic_url, "body": body.decode("utf-8", "replace")})


@subscriber.add_success_handler
def on_success(topic_url, callback_id, mode):
    with lock:
        subscribed.append({"topic": topic_url, "mode": mode})


@app.route("/subscribe", methods=["POST"])
def subscribe():
    subscriber.subscribe(topic_url=request.form["topic"], hub_url=request.form["hub"])
    return "", 204


@app.route("/received")
def deliveries():
    with lock:
        return json.dumps(received), 200, {"Content-Type": "application/json"}


@app.route("/subscribed")
def confirmations():
    with lock:
        return json.dumps(subscribed), 200, {"Content-Type": "application/json"}


app.run(host="127.0.0.1", port=port, threaded=True)
