"""Drive capstan apiserver with the Python `kubernetes` client: create, list, patch, watch,
conflicts, dynamic-client server-side apply, delete. Usage: client_flow.py <server-url>."""

import sys
import threading
import time

from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException


def main(url: str) -> None:
    cfg = client.Configuration()
    cfg.host = url
    api_client = client.ApiClient(cfg)
    core = client.CoreV1Api(api_client)

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py")))
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c1", labels={"x": "y"}), data={"a": "1"})
    created = core.create_namespaced_config_map("py", cm)
    assert created.metadata.uid, "uid assigned"

    try:
        core.create_namespaced_config_map("py", cm)
        raise AssertionError("duplicate create must fail")
    except ApiException as e:
        assert e.status == 409, e.status

    patched = core.patch_namespaced_config_map("c1", "py", {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}, patched.data

    listed = core.list_namespaced_config_map("py", label_selector="x=y")
    assert [i.metadata.name for i in listed.items] == ["c1"], listed.items
    assert not core.list_namespaced_config_map("py", label_selector="x=z").items

    # Watch without a resourceVersion: synthetic ADDED first, then a change made meanwhile.
    seen = []

    def later():
        time.sleep(0.5)
        core.create_namespaced_config_map("py", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c2")))

    t = threading.Thread(target=later)
    t.start()
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, "py", timeout_seconds=3):
        seen.append((ev["type"], ev["object"].metadata.name))
    t.join()
    assert ("ADDED", "c1") in seen and ("ADDED", "c2") in seen, seen

    stale = core.read_namespaced_config_map("c1", "py")
    core.patch_namespaced_config_map("c1", "py", {"data": {"c": "3"}})
    stale.data["d"] = "4"
    try:
        core.replace_namespaced_config_map("c1", "py", stale)
        raise AssertionError("stale replace must fail")
    except ApiException as e:
        assert e.status == 409, e.status

    dyn = dynamic.DynamicClient(api_client)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d1", "namespace": "py"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "d1"}},
            "template": {"metadata": {"labels": {"app": "d1"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}},
        },
    }
    applied = deployments.server_side_apply(body=body, name="d1", namespace="py", field_manager="py-test")
    assert applied.metadata.name == "d1"
    managers = [m["manager"] for m in applied.metadata.managedFields]
    assert "py-test" in managers, managers

    core.delete_namespaced_config_map("c1", "py")
    try:
        core.read_namespaced_config_map("c1", "py")
        raise AssertionError("deleted object must be gone")
    except ApiException as e:
        assert e.status == 404, e.status
    print("python client flow OK")


if __name__ == "__main__":
    main(sys.argv[1])
