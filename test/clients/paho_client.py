"""Drives Debian's Eclipse Paho MQTT client (python3-paho-mqtt 1.6) against a broker, for the
integration tests.

Usage: /usr/bin/python3 paho_client.py PORT SCENARIO [ARGS...]
Prints one JSON object on stdout with what it saw.
"""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt


def client(client_id, clean_session, user=None, password=None, transport="tcp"):
    c = mqtt.Client(client_id=client_id, clean_session=clean_session, protocol=mqtt.MQTTv311, transport=transport)
    if user is not None:
        c.username_pw_set(user, password)
    state = {"connack": None, "session_present": None, "messages": [], "subacks": [], "published": set()}
    connected = threading.Event()

    def on_connect(_c, _u, flags, rc):
        state["connack"] = rc
        state["session_present"] = bool(flags.get("session present"))
        connected.set()

    def on_message(_c, _u, msg):
        state["messages"].append(
            {"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace"), "qos": msg.qos, "retain": bool(msg.retain), "dup": bool(msg.dup)}
        )

    def on_subscribe(_c, _u, _mid, granted):
        state["subacks"].append(list(granted))

    def on_publish(_c, _u, mid):
        state["published"].add(mid)

    c.on_connect = on_connect
    c.on_message = on_message
    c.on_subscribe = on_subscribe
    c.on_publish = on_publish
    return c, state, connected


def wait(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def main():
    port = int(sys.argv[1])
    scenario = sys.argv[2]
    args = sys.argv[3:]
    out = {}
    if scenario == "subscribe":
        # subscribe CLIENT_ID CLEAN(0|1) FILTER QOS: subscribe, then DISCONNECT cleanly.
        client_id, clean, topic_filter, qos = args[0], args[1] == "1", args[2], int(args[3])
        c, state, connected = client(client_id, clean)
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        connected.wait(10)
        c.subscribe(topic_filter, qos)
        wait(lambda: state["subacks"], 10)
        c.disconnect()
        c.loop_stop()
        out = {"connack": state["connack"], "sessionPresent": state["session_present"], "subacks": state["subacks"]}
    elif scenario == "receive":
        # receive CLIENT_ID CLEAN(0|1) COUNT TIMEOUT_S [FILTER QOS]: resume (or subscribe), collect COUNT messages.
        client_id, clean, count, timeout = args[0], args[1] == "1", int(args[2]), float(args[3])
        c, state, connected = client(client_id, clean)
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        connected.wait(10)
        if len(args) > 4:
            c.subscribe(args[4], int(args[5]))
        wait(lambda: len(state["messages"]) >= count, timeout)
        c.disconnect()
        c.loop_stop()
        out = {"connack": state["connack"], "sessionPresent": state["session_present"], "messages": state["messages"]}
    elif scenario == "publish":
        # publish TOPIC PAYLOAD QOS [USER PASSWORD]: publish and wait for the QoS flow to finish.
        topic, payload, qos = args[0], args[1], int(args[2])
        user, password = (args[3], args[4]) if len(args) > 4 else (None, None)
        c, state, connected = client("", True, user, password)
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        connected.wait(10)
        if state["connack"] == 0:
            info = c.publish(topic, payload, qos=qos)
            wait(lambda: info.mid in state["published"], 10)
            out = {"connack": 0, "completed": info.mid in state["published"]}
        else:
            out = {"connack": state["connack"]}
        c.disconnect()
        c.loop_stop()
    elif scenario == "ws-echo":
        # ws-echo TOPIC PAYLOAD: over WebSocket (subprotocol "mqtt"), subscribe at QoS 1, publish, receive it back.
        topic, payload = args[0], args[1]
        c, state, connected = client("", True, transport="websockets")
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        connected.wait(10)
        c.subscribe(topic, 1)
        wait(lambda: state["subacks"], 10)
        info = c.publish(topic, payload, qos=1)
        wait(lambda: state["messages"] and info.mid in state["published"], 10)
        c.disconnect()
        c.loop_stop()
        out = {"connack": state["connack"], "subacks": state["subacks"], "messages": state["messages"]}
    elif scenario == "will-then-drop":
        # will-then-drop WILL_TOPIC WILL_PAYLOAD: connect with a will, then drop the socket without DISCONNECT.
        c, state, connected = client("will-holder", True)
        c.will_set(args[0], args[1], qos=1)
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        connected.wait(10)
        c.loop_stop()
        c.socket().close()
        out = {"connack": state["connack"]}
    else:
        raise SystemExit("unknown scenario " + scenario)
    print(json.dumps(out))


main()
