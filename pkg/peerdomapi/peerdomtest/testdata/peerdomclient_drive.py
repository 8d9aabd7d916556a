"""Drives Peerdom's own Python client (PyPI peerdomclient, pinned) against a local Peerdom
double: every call it makes for lists, peers, roles, circles, assignment and unassignment.

Usage: python peerdomclient_drive.py BASE_URL API_KEY
Prints one JSON object: the calls made, in order, with what each returned; exits 1 at
the first call that fails (the client raises on any status but 2xx and 429).
"""
import json
import sys

import requests
from peerdomclient import peerdomclient as pc

base, key = sys.argv[1], sys.argv[2]
client = pc.PeerdomClient(key, max_retries=1)
# The client reads its base URL from BASE_URL on every request (default
# https://api.peerdom.org/v1): point it at the local server.
client.BASE_URL = base
calls = []


def call(label, write, fn, *args, **kwargs):
    try:
        out = fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - reported, then the driver stops
        calls.append({"call": label, "write": write, "error": repr(e)})
        print(json.dumps({"calls": calls}))
        sys.exit(1)
    calls.append({"call": label, "write": write, "type": type(out).__name__})
    return out


call("get_maps", False, client.get_maps)
live = call("get_active_map", False, client.get_active_map)
root = call("get_root_node", False, client.get_root_node)
call("get_peers", False, client.get_peers, with_customfields=True)
call("get_roles", False, client.get_roles, with_customfields=True)
call("get_circles", False, client.get_circles)

circle = call("create_circle", True, client.create_circle, live, "Python circle", parent_id=root)
call("update_circle", True, client.update_circle, circle["id"], name="Python circles", parent_id=root)
call("get_circle", False, client.get_circle, circle["id"], with_customfields=True)
role = call("create_role", True, client.create_role, "Python role", live, parent_id=circle["id"],
            custom_fields={"Purpose": "Written from Python"})
call("update_role", True, client.update_role, role["id"], role_name="Python roles", parent_id=circle["id"])
call("get_role", False, client.get_role, role["id"], with_customfields=True)
peer = call("create_peer", True, client.create_peer, "Monty", last_name="Python", percentage=80)
call("update_peer", True, client.update_peer, peer["id"], nick_name="Monty")
call("get_peer", False, client.get_peer, peer["id"], with_customfields=True)

# Assignment: peerdomclient 0.1.1 (the latest on PyPI, 2023-11) still assigns through
# /holders, which the API removed that month in favour of the role endpoints its later
# versions use. Its create_holder must fail with a 404; the assignment is then made as
# Peerdom's later client makes it, through this client's own request method.
try:
    client.create_holder(role["id"], peer["id"], percentage=50)
    calls.append({"call": "create_holder", "write": False, "error": "the removed /holders endpoint answered"})
    print(json.dumps({"calls": calls}))
    sys.exit(1)
except requests.HTTPError as e:
    calls.append({"call": "create_holder", "write": False, "status": e.response.status_code})

call("assign (POST roles/{id}/peers)", True, client._make_request, "POST", f"roles/{role['id']}/peers",
     data=json.dumps({"peerId": peer["id"], "percentage": 50}))
call("unassign (DELETE roles/{id}/peers/{peerId})", True, client._make_request, "DELETE",
     f"roles/{role['id']}/peers/{peer['id']}")

call("delete_peer", True, client.delete_peer, peer["id"])
call("delete_role", True, client.delete_role, role["id"])
call("delete_circle", True, client.delete_circle, circle["id"])
print(json.dumps({"calls": calls}))
