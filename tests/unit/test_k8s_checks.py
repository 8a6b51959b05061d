"""Pure manifest checks: Pod Security "restricted", RBAC wildcards and coverage, CRD -> JSON schema."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from support import crd
from support.crd import CRD
from support.k8s import podsecurity, rbac, schemas

EXAMPLE = crd.example()


def deployment(pod_ctx: dict[str, Any] | None = None, **container: Any) -> dict[str, Any]:
    base_container = {
        "name": "app",
        "image": "x:1",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    base_container.update(container)
    pod = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        if pod_ctx is None
        else pod_ctx,
        "containers": [base_container],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": pod}},
    }


class TestPodSecurity:
    def test_a_compliant_deployment_passes(self) -> None:
        assert podsecurity.violations(deployment()) == []

    def test_container_level_settings_may_stand_in_for_pod_level_ones(self) -> None:
        ctx = {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"},
        }
        assert podsecurity.violations(deployment(pod_ctx={}, securityContext=ctx)) == []

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"securityContext": {"capabilities": {"drop": ["ALL"]}}}, "allowPrivilegeEscalation must be false"),
            ({"securityContext": {"allowPrivilegeEscalation": False}}, "capabilities.drop must include ALL"),
            (
                {
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
                    }
                },
                "may only hold NET_BIND_SERVICE",
            ),
            (
                {
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "privileged": True,
                    }
                },
                "privileged must be false",
            ),
            (
                {
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "runAsUser": 0,
                    }
                },
                "runAsUser must not be 0",
            ),
            ({"ports": [{"containerPort": 80, "hostPort": 80}]}, "must not set hostPort"),
        ],
    )
    def test_container_violations_are_named(self, change: dict[str, Any], message: str) -> None:
        problems = podsecurity.violations(deployment(**change))
        assert len(problems) == 1 and message in problems[0]
        assert problems[0].startswith("Deployment/d container 'app'")

    def test_pod_level_violations(self) -> None:
        obj = deployment()
        pod = obj["spec"]["template"]["spec"]
        pod["hostNetwork"] = True
        pod["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}, {"name": "ok", "emptyDir": {}}]
        pod["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
        pod["securityContext"]["sysctls"] = [{"name": "kernel.msgmax", "value": "1"}]
        problems = "\n".join(podsecurity.violations(obj))
        assert "spec.hostNetwork must be false" in problems
        assert "volume 'host' uses ['hostPath']" in problems and "'ok'" not in problems
        assert "seccompProfile.type must be RuntimeDefault or Localhost" in problems
        assert "sysctl 'kernel.msgmax'" in problems

    def test_missing_non_root_and_seccomp_anywhere(self) -> None:
        problems = podsecurity.violations(deployment(pod_ctx={}))
        assert any("runAsNonRoot must be true" in p for p in problems)
        assert any("seccompProfile.type must be RuntimeDefault" in p for p in problems)

    def test_init_containers_count_too(self) -> None:
        obj = deployment()
        obj["spec"]["template"]["spec"]["initContainers"] = [{"name": "init", "image": "x:1"}]
        assert any("container 'init'" in p for p in podsecurity.violations(obj))

    def test_spark_application_driver_and_executor_are_checked(self) -> None:
        ok = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
        pod_ctx = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        app = {
            "apiVersion": "sparkoperator.k8s.io/v1beta2",
            "kind": "SparkApplication",
            "metadata": {"name": "s"},
            "spec": {
                "driver": {"securityContext": ok, "podSecurityContext": pod_ctx},
                "executor": {"securityContext": {}, "podSecurityContext": pod_ctx},
            },
        }
        problems = podsecurity.violations(app)
        assert problems and all(p.startswith("SparkApplication/s executor") for p in problems)

    def test_objects_without_pods(self) -> None:
        assert not podsecurity.produces_pods({"kind": "Service", "metadata": {"name": "s"}, "spec": {}})


def role(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "r"},
        "rules": rules,
    }


class TestRbac:
    def test_wildcards_and_escalating_verbs_are_reported(self) -> None:
        bad = role(
            {"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods/*"], "verbs": ["*"]},
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate", "bind"]},
        )
        problems = rbac.wildcard_violations(bad)
        assert len(problems) == 5
        assert "ClusterRole/r rule 0: apiGroups holds the wildcard '*'" in problems

    def test_a_precise_role_is_clean(self) -> None:
        assert rbac.wildcard_violations(role({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]})) == []
        assert rbac.wildcard_violations({"kind": "Deployment"}) == []

    def test_allows_and_missing(self) -> None:
        rules = rbac.rules_of(
            [
                role(
                    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list", "patch"]},
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["one"]},
                )
            ]
        )
        assert rbac.allows(rules, "apps", "deployments", "patch")
        assert not rbac.allows(rules, "", "deployments", "patch")
        assert not rbac.allows(rules, "", "secrets", "get")  # only one named secret
        assert rbac.missing(rules, {("apps", "deployments", "delete"), ("apps", "deployments", "list")}) == [
            ("apps", "deployments", "delete")
        ]
        assert ("apps", "deployments", "list") in rbac.granted(rules)


class TestSchemas:
    def test_kubeconform_file_names(self) -> None:
        assert schemas.schema_filename("Deployment", "apps/v1") == "deployment-apps-v1.json"
        assert schemas.schema_filename("Service", "v1") == "service-v1.json"
        assert (
            schemas.schema_filename("LogPipeline", "logpipeline.io/v1alpha1") == "logpipeline-logpipeline-v1alpha1.json"
        )

    def test_the_crd_schema_accepts_the_example_and_refuses_unknown_or_bad_fields(self) -> None:
        (name, schema), *_ = schemas.crd_schemas(CRD).items()
        assert name == "logpipeline-logpipeline-v1alpha1.json"
        jsonschema.validate(EXAMPLE, schema)
        for path, value in [(("spec", "dashboard", "replicaz"), 1), (("spec", "spark", "mode"), "yarn")]:
            bad = copy.deepcopy(EXAMPLE)
            bad[path[0]][path[1]][path[2]] = value
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(bad, schema)
        wrong_kind = {**EXAMPLE, "kind": "LogPipelines"}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong_kind, schema)

    def test_int_or_string_nullable_and_preserved_fields(self) -> None:
        crd = {
            "spec": {
                "group": "x.io",
                "names": {"kind": "Thing"},
                "versions": [
                    {"name": "v1", "served": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {
                        "name": "v2",
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "note": {"type": "string", "nullable": True},
                                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                },
                            }
                        },
                    },
                ],
            }
        }
        out = schemas.crd_schemas(crd)
        assert list(out) == ["thing-x-v2.json"]
        schema = out["thing-x-v2.json"]
        obj = {"apiVersion": "x.io/v2", "kind": "Thing", "port": "http", "note": None, "free": {"any": 1}}
        jsonschema.validate(obj, schema)
        jsonschema.validate({**obj, "port": 8080}, schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**obj, "extra": 1}, schema)

    def test_standalone_inlines_only_what_is_reached(self) -> None:
        defs = {
            "A": {"type": "object", "properties": {"b": {"$ref": "/api/_definitions.json#/$defs/B"}}},
            "B": {"type": "string"},
            "C": {"type": "integer"},
        }
        root = {"$id": "x", "properties": {"a": {"$ref": "/api/_definitions.json#/$defs/A"}}}
        out = schemas.standalone(root, defs)
        assert sorted(out["$defs"]) == ["A", "B"] and "$id" not in out
        assert out["properties"]["a"]["$ref"] == "#/$defs/A"
        assert out["$defs"]["A"]["properties"]["b"]["$ref"] == "#/$defs/B"
        with pytest.raises(KeyError, match="unknown definition 'Z'"):
            schemas.standalone({"$ref": "#/$defs/Z"}, defs)
