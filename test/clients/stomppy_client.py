"""Drives Debian's stomp.py (python3-stomp 8) against a broker, for the integration tests.

Usage: /usr/bin/python3 stomppy_client.py PORT SCENARIO [ARGS...]
Prints one JSON object on stdout with what it sent and received.
"""
import json
import sys
import time
import uuid

import stomp


class Collector(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.errors = []
        self.receipts = set()

    def on_message(self, frame):
        self.messages.append({"headers": dict(frame.headers), "body": frame.body})

    def on_error(self, frame):
        self.errors.append({"headers": dict(frame.headers), "body": frame.body})

    def on_receipt(self, frame):
        self.receipts.add(frame.headers.get("receipt-id"))


def connect(port, client_id=None):
    conn = stomp.Connection12([("127.0.0.1", port)], heartbeats=(0, 0))
    listener = Collector()
    conn.set_listener("c", listener)
    headers = {"client-id": client_id} if client_id else {}
    conn.connect(wait=True, headers=headers)
    return conn, listener


def wait_until(pred, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def send_receipted(conn, listener, dest, body, headers=None, transaction=None):
    rid = str(uuid.uuid4())
    kwargs = {"transaction": transaction} if transaction else {}
    conn.send(destination=dest, body=body, headers=dict(headers or {}, receipt=rid), **kwargs)
    if not wait_until(lambda: rid in listener.receipts or listener.errors):
        raise SystemExit("no receipt for SEND to " + dest)


def scenario_send(port, dest, count, prefix):
    conn, listener = connect(port)
    for i in range(int(count)):
        send_receipted(conn, listener, dest, "%s-%d" % (prefix, i), {"persistent": "true", "index": str(i)})
    conn.disconnect()
    return {"sent": int(count), "errors": listener.errors}


def scenario_receive(port, dest, count, ack="client-individual", selector=""):
    conn, listener = connect(port)
    headers = {"selector": selector} if selector else {}
    conn.subscribe(destination=dest, id="1", ack=ack, headers=headers)
    wait_until(lambda: len(listener.messages) >= int(count))
    for m in listener.messages:
        if ack != "auto":
            conn.ack(m["headers"]["ack"])
    time.sleep(0)  # let the ACK frames leave before DISCONNECT
    conn.disconnect(receipt=str(uuid.uuid4()))
    return {"bodies": [m["body"] for m in listener.messages], "headers": [m["headers"] for m in listener.messages], "errors": listener.errors}


def scenario_transaction(port, dest):
    conn, listener = connect(port)
    tx = conn.begin()
    send_receipted(conn, listener, dest, "aborted-1", {"persistent": "true"}, transaction=tx)
    conn.abort(tx)
    tx = conn.begin()
    send_receipted(conn, listener, dest, "committed-1", {"persistent": "true"}, transaction=tx)
    send_receipted(conn, listener, dest, "committed-2", {"persistent": "true"}, transaction=tx)
    rid = str(uuid.uuid4())
    conn.commit(tx, headers={"receipt": rid})
    ok = wait_until(lambda: rid in listener.receipts)
    conn.disconnect()
    return {"committed": ok, "errors": listener.errors}


def scenario_durable(port, topic, client_id, name, phase, count="0"):
    conn, listener = connect(port, client_id)
    conn.subscribe(destination=topic, id="d1", ack="client-individual",
                   headers={"activemq.subscriptionName": name, "receipt": "sub"})
    wait_until(lambda: "sub" in listener.receipts)
    if phase == "register":
        conn.disconnect()
        return {"registered": True, "errors": listener.errors}
    wait_until(lambda: len(listener.messages) >= int(count))
    for m in listener.messages:
        conn.ack(m["headers"]["ack"])
    conn.disconnect(receipt=str(uuid.uuid4()))
    return {"bodies": [m["body"] for m in listener.messages], "errors": listener.errors}


SCENARIOS = {
    "send": scenario_send,
    "receive": scenario_receive,
    "transaction": scenario_transaction,
    "durable": scenario_durable,
}

if __name__ == "__main__":
    port = int(sys.argv[1])
    result = SCENARIOS[sys.argv[2]](port, *sys.argv[3:])
    print(json.dumps(result))
