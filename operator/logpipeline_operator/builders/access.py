"""The operator's own rights in a pipeline's namespace when it watches every namespace (pure).

Watching every namespace, the operator holds no rights over children anywhere at rest: when a LogPipeline appears
in a namespace it binds itself there to the pre-created ClusterRole of children's rights (it may create that one
RoleBinding: RBAC verb ``bind`` on that ClusterRole only). The binding is owned by every pipeline of the namespace,
each through its own field manager, so the garbage collector removes it with the last of them. Watching listed
namespaces, the chart creates these bindings itself and ``Access.children_role`` is empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from logpipeline_operator import constants as c
from logpipeline_operator.builders.common import Body, Manifest, name_of, namespace_of

ENV_CHILDREN_ROLE = "LOGPIPELINE_OPERATOR_CHILDREN_CLUSTERROLE"
ENV_SERVICE_ACCOUNT = "LOGPIPELINE_OPERATOR_SERVICE_ACCOUNT"  # <namespace>/<name>


@dataclass(frozen=True)
class Access:
    children_role: str = ""
    service_account_namespace: str = ""
    service_account: str = ""


def from_env(env: Mapping[str, str]) -> Access:
    role = env.get(ENV_CHILDREN_ROLE, "").strip()
    namespace, _, name = env.get(ENV_SERVICE_ACCOUNT, "").strip().partition("/")
    if role and not (namespace and name):
        raise ValueError(f"{ENV_CHILDREN_ROLE} needs {ENV_SERVICE_ACCOUNT}=<namespace>/<name>, got {namespace!r}")
    return Access(role, namespace, name)


def field_manager(lp: Body) -> str:
    """One field manager per pipeline, so each keeps its own owner reference on the shared binding."""
    return f"{c.FIELD_MANAGER}.{name_of(lp)}"


def build_operator_binding(lp: Body, access: Access) -> Manifest | None:
    """The operator's RoleBinding in the pipeline's namespace (None when the chart binds it instead)."""
    if not access.children_role:
        return None
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": access.children_role,
            "namespace": namespace_of(lp),
            "labels": {c.LABEL_NAME: c.APP_NAME, c.LABEL_PART_OF: c.APP_NAME, c.LABEL_COMPONENT: "operator-access"},
            "ownerReferences": [
                {
                    "apiVersion": c.API_VERSION,
                    "kind": c.KIND,
                    "name": name_of(lp),
                    "uid": str(lp["metadata"]["uid"]),
                    "controller": False,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": access.children_role},
        "subjects": [
            {"kind": "ServiceAccount", "name": access.service_account, "namespace": access.service_account_namespace}
        ],
    }
